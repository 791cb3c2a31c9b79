# Qmp.py: the PyGObject override of qmp-glib
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Python values in and out of qmp-glib.

With this override, QMP arguments, event filters, return values and event
data are plain Python values (dicts, lists, str, int, float, bool, None)
instead of Json.Object and Json.Node; the flags and cancellable arguments
are optional keyword arguments::

    conn = Qmp.Connection.new_for_address_sync("unix:/tmp/qmp.sock")
    status = conn.execute_sync("query-status")     # {'status': 'running', ...}
    conn.execute_sync("device_add", {"driver": "usb-kbd", "id": "k"})

A Json.Object or Json.Node is still accepted wherever a dict is.  Values
cross over by serialization (json-glib's generator and parser on one side,
the json module on the other), which keeps every JSON type exact.
"""

import json

from gi.repository import Json

from ..module import get_introspection_module
from ..overrides import override

Qmp = get_introspection_module('Qmp')

__all__ = []


def _to_object(value, what='arguments'):
    """A dict (or a Json.Object/Json.Node holding an object) as a Json.Object."""
    if value is None:
        return None
    if isinstance(value, Json.Object):
        return value
    if isinstance(value, Json.Node):
        if value.get_node_type() != Json.NodeType.OBJECT:
            raise TypeError('%s must be a JSON object, not %s'
                            % (what, value.type_name()))
        return value.get_object()
    if not isinstance(value, dict):
        raise TypeError('%s must be a dict, not %s'
                        % (what, type(value).__name__))
    node = Json.from_string(json.dumps(value, ensure_ascii=False,
                                       allow_nan=False))
    return node.get_object()


def _user_data(function, user_data, kwargs):
    """Lets user data go by keyword too (callback=…, user_data=…)."""
    if 'user_data' in kwargs:
        user_data += (kwargs.pop('user_data'),)
    if kwargs:
        raise TypeError('%s() got an unexpected keyword argument %r'
                        % (function, next(iter(kwargs))))
    return user_data


def _to_python(value):
    """A Json.Node or Json.Object as the equivalent Python value."""
    if value is None:
        return None
    if isinstance(value, Json.Object):
        value = Json.Node.alloc().init_object(value)
    return json.loads(Json.to_string(value, False))


@override
class Event(Qmp.Event):
    """A QMP event; `data` is a dict (None when the event carries none)."""

    @staticmethod
    def new(name, data=None, timestamp=None):
        return Qmp.Event.new(name, _to_object(data, 'data'), timestamp)

    def get_data(self):
        return _to_python(Qmp.Event.get_data(self))

    def matches(self, event_name=None, event_match=None):
        return Qmp.Event.matches(self, event_name,
                                 _to_object(event_match, 'event_match'))

    name = property(Qmp.Event.get_name, doc='The name of the event.')
    data = property(get_data, doc='The data of the event, as a dict, or None.')
    timestamp = property(Qmp.Event.get_timestamp,
                         doc='When QEMU sent the event (a GLib.DateTime in '
                             'UTC), or None if QEMU could not read its clock.')

    def __repr__(self):
        return '<Qmp.Event %s %r>' % (self.get_name(), self.get_data())


__all__.append('Event')


@override
class Connection(Qmp.Connection):
    """A QMP connection that takes and returns Python values.

    The callback of an `_async` method is called as
    `callback(connection, result, *user_data)`; user data go after the
    callback, positionally or as `user_data=`.
    """

    @staticmethod
    def new_for_address_sync(address, flags=Qmp.ConnectionFlags.NONE,
                             cancellable=None):
        return Qmp.Connection.new_for_address_sync(address, flags, cancellable)

    @staticmethod
    def new_for_address_async(address, flags=Qmp.ConnectionFlags.NONE,
                              cancellable=None, callback=None,
                              *user_data, **kwargs):
        user_data = _user_data('new_for_address_async', user_data, kwargs)
        Qmp.Connection.new_for_address_async(address, flags, cancellable,
                                             callback, *user_data)

    @staticmethod
    def new_sync(stream, flags=Qmp.ConnectionFlags.NONE, cancellable=None):
        return Qmp.Connection.new_sync(stream, flags, cancellable)

    @staticmethod
    def new_async(stream, flags=Qmp.ConnectionFlags.NONE, cancellable=None,
                  callback=None, *user_data, **kwargs):
        user_data = _user_data('new_async', user_data, kwargs)
        Qmp.Connection.new_async(stream, flags, cancellable, callback,
                                 *user_data)

    def execute_sync(self, command, arguments=None,
                     flags=Qmp.ExecuteFlags.NONE, cancellable=None):
        """Runs `command`; returns its "return" member as Python values."""
        return _to_python(Qmp.Connection.execute_sync(
            self, command, _to_object(arguments), flags, cancellable))

    def execute_async(self, command, arguments=None,
                      flags=Qmp.ExecuteFlags.NONE, cancellable=None,
                      callback=None, *user_data, **kwargs):
        """Starts `command`; the callback gets its "return" member as
        Python values from `connection.execute_finish(result)`."""
        user_data = _user_data('execute_async', user_data, kwargs)
        Qmp.Connection.execute_async(self, command, _to_object(arguments),
                                     flags, cancellable, callback, *user_data)

    def execute_finish(self, result):
        return _to_python(Qmp.Connection.execute_finish(self, result))

    def execute_until_event_sync(self, command, arguments=None,
                                 event_name=None, event_match=None,
                                 cancellable=None):
        """Runs `command` until both its return and an `event_name` event
        whose data contain `event_match` came; returns (event, return)."""
        if event_name is None:
            raise TypeError('execute_until_event_sync() needs an event_name')
        event, ret = Qmp.Connection.execute_until_event_sync(
            self, command, _to_object(arguments), event_name,
            _to_object(event_match, 'event_match'), cancellable)
        return event, _to_python(ret)

    def execute_until_event_async(self, command, arguments=None,
                                  event_name=None, event_match=None,
                                  cancellable=None, callback=None,
                                  *user_data, **kwargs):
        if event_name is None:
            raise TypeError('execute_until_event_async() needs an event_name')
        user_data = _user_data('execute_until_event_async', user_data, kwargs)
        Qmp.Connection.execute_until_event_async(
            self, command, _to_object(arguments), event_name,
            _to_object(event_match, 'event_match'), cancellable,
            callback, *user_data)

    def execute_until_event_finish(self, result):
        """Returns (event, return) of execute_until_event_async()."""
        event, ret = Qmp.Connection.execute_until_event_finish(self, result)
        return event, _to_python(ret)

    def wait_event_sync(self, event_name=None, event_match=None,
                        cancellable=None):
        return Qmp.Connection.wait_event_sync(
            self, event_name, _to_object(event_match, 'event_match'),
            cancellable)

    def wait_event_async(self, event_name=None, event_match=None,
                         cancellable=None, callback=None,
                         *user_data, **kwargs):
        user_data = _user_data('wait_event_async', user_data, kwargs)
        Qmp.Connection.wait_event_async(
            self, event_name, _to_object(event_match, 'event_match'),
            cancellable, callback, *user_data)


__all__.append('Connection')


@override
class Process(Qmp.Process):
    """A QEMU that the library launched, with a connection to it."""

    @staticmethod
    def new_sync(argv, flags=Qmp.ConnectionFlags.NONE, cancellable=None):
        return Qmp.Process.new_sync(argv, flags, cancellable)

    @staticmethod
    def new_async(argv, flags=Qmp.ConnectionFlags.NONE, cancellable=None,
                  callback=None, *user_data, **kwargs):
        user_data = _user_data('new_async', user_data, kwargs)
        Qmp.Process.new_async(argv, flags, cancellable, callback, *user_data)


__all__.append('Process')


def _to_node(value, what='return value'):
    """A Python value (or a Json.Node or Json.Object) as a Json.Node."""
    if value is None or isinstance(value, Json.Node):
        return value
    if isinstance(value, Json.Object):
        return Json.Node.alloc().init_object(value)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError('%s is not JSON: %s' % (what, error)) from None
    return Json.from_string(text)


@override
class TestServer(Qmp.TestServer):
    """A QMP server for tests that takes Python values: answers and event
    data are dicts (or any JSON value for an answer)::

        server = Qmp.TestServer.new()
        server.set_reply("query-status", {"status": "paused", "running": False})
        conn = server.new_connection_sync()
    """

    def new_connection_sync(self, flags=Qmp.ConnectionFlags.NONE,
                            cancellable=None):
        return Qmp.TestServer.new_connection_sync(self, flags, cancellable)

    def set_capabilities(self, capabilities=None):
        Qmp.TestServer.set_capabilities(self, capabilities)

    def set_reply(self, command, return_value=None):
        Qmp.TestServer.set_reply(self, command, _to_node(return_value))

    def add_event_before_reply(self, command, event_name, data=None):
        Qmp.TestServer.add_event_before_reply(self, command, event_name,
                                              _to_object(data, 'data'))

    def emit_event(self, event_name, data=None, timestamp=None):
        Qmp.TestServer.emit_event(self, event_name, _to_object(data, 'data'),
                                  timestamp)

    def next_command_sync(self, cancellable=None):
        return Qmp.TestServer.next_command_sync(self, cancellable)

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode('utf-8')
        Qmp.TestServer.send_raw(self, data)


__all__.append('TestServer')


@override
class TestServerCommand(Qmp.TestServerCommand):
    """A command the test server received; `arguments` and `id` are Python
    values, and reply() takes one."""

    def get_arguments(self):
        return _to_python(Qmp.TestServerCommand.get_arguments(self))

    def get_id(self):
        return _to_python(Qmp.TestServerCommand.get_id(self))

    def reply(self, return_value=None):
        Qmp.TestServerCommand.reply(self, _to_node(return_value))

    name = property(Qmp.TestServerCommand.get_name, doc='The command\'s name.')
    arguments = property(get_arguments, doc='The arguments, as a dict, or None.')
    id = property(get_id, doc='The id, as the client sent it, or None.')
    oob = property(Qmp.TestServerCommand.get_oob, doc='Whether it came as exec-oob.')

    def __repr__(self):
        return '<Qmp.TestServerCommand %s %r>' % (self.get_name(), self.get_arguments())


__all__.append('TestServerCommand')
