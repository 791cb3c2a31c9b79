# Qmp.py: the PyGObject override of qmp-glib
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Python values in and out of qmp-glib, Ctrl-C, timeouts and asyncio.

With this override, QMP arguments, event filters, return values and event
data are plain Python values (dicts, lists, str, int, float, bool, None)
instead of Json.Object and Json.Node; the flags and cancellable arguments
are optional keyword arguments::

    conn = Qmp.Connection.new_for_address_sync("unix:/tmp/qmp.sock")
    status = conn.execute_sync("query-status")     # {'status': 'running', ...}
    conn.execute_sync("device_add", {"driver": "usb-kbd", "id": "k"})

A Json.Object or Json.Node is still accepted wherever a dict is, and
the C library's methods that the override does not redefine
(execute_full_sync, execute_json_sync, …) take a dict for each
Json.Object or Json.Node argument (they return what the C call does).
A string with a lone surrogate, which is no Unicode text, raises
TypeError as any other value that is no JSON.  Values
cross over as JSON text: a command's arguments are written by the json
module and sent as they are, its return and an event's data are parsed
once, by the json module, from the text the server wrote, and no
Json.Node tree is built on the way (so an integer beyond 64 bits goes
and comes back exact).  Where the C library takes only a Json.Object
(event filters, execute_with_fds_*, execute_with_fdset_*,
execute_until_event_async, Event.new, TestServer), a value that
json-glib cannot hold as it is raises ValueError instead of changing on
the way: an integer outside the signed 64 bits, a string or member name
with U+0000.

Ctrl-C interrupts every `_sync` call of the main thread within a fraction
of a second: the call is cancelled (a command not written yet is never
sent) and KeyboardInterrupt is raised.  `execute_sync`, `wait_event_sync`
and `execute_until_event_sync` take `timeout=` (seconds; None or
math.inf for none)::

    conn.wait_event_sync("SHUTDOWN", timeout=30)   # GLib.Error TIMED_OUT

Under asyncio, the coroutines `execute`, `execute_until_event`,
`wait_event`, `close` and the async iterator `events` need no GLib main
loop::

    async def main():
        conn = await Qmp.Connection.new_for_address("unix:/tmp/qmp.sock")
        print(await conn.execute("query-status"))
        async with conn.events("STOP") as events:
            await conn.execute("stop")
            async for event in events:
                break

    asyncio.run(main())

A Qmp.EventQueue is an iterator (and an async one) of the events it
keeps, whether or not a main loop runs::

    for event in Qmp.EventQueue.new(conn, ["STOP", "RESUME"]):
        print(event.name)

A QMP error is a GLib.Error of the Qmp.Error domain whose `qmp_class`
is the class the server reported, such as 'DeviceNotFound'.
"""

import asyncio
import collections
import heapq
import json
import json.scanner
import os
import signal
import threading
import time

# The C functions behind the signal module's Python wrappers, which cost
# microseconds of enum conversions on every _sync call.
import _signal

from gi.repository import GLib, GObject, Gio, Json

from ..module import get_introspection_module
from ..overrides import override

Qmp = get_introspection_module('Qmp')

__all__ = []


# ------------------------------------------------------ JSON in and out

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
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if not text.isascii():
        _check_utf8(text, what)
    _check_exact(value, what)
    return Json.from_string(text).get_object()


def _check_utf8(text, what):
    """Raises TypeError for a str with a lone surrogate, which PyGObject
    cannot pass as UTF-8 (it would raise UnicodeEncodeError)."""
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        raise TypeError('%s: a string with a lone surrogate is no Unicode text'
                        % what) from None


_INT64_MIN = -2**63
_INT64_MAX = 2**63 - 1


def _check_exact(value, what):
    """Raises ValueError for what a Json.Node tree cannot hold as it is
    (json-glib would change it without a word): an integer outside the
    signed 64 bits, a string or member name with U+0000 (cut there).
    `value` is JSON already (json.dumps() took it: no cycle)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if '\0' in item:
                raise ValueError('%s: a string with U+0000 cannot go through a '
                                 'Json.Object (it would be cut)' % what)
        elif isinstance(item, int):
            if not _INT64_MIN <= item <= _INT64_MAX and not isinstance(item, bool):
                raise ValueError('%s: the integer %d is outside the signed 64 bits '
                                 'that a Json.Object holds' % (what, item))
        elif isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and '\0' in key:
                    raise ValueError('%s: a member name with U+0000 cannot go through '
                                     'a Json.Object (it would be cut)' % what)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


# One encoder for every call: json.dumps() with options makes a new one
# each time.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _to_text(value, what='arguments'):
    """A dict (or a Json.Object/Json.Node holding an object) as the text
    of a JSON object, for the library's execute_text calls."""
    if value is None:
        return None
    if isinstance(value, dict):
        text = _encode(value)
        if not text.isascii():
            _check_utf8(text, what)
        return text
    if isinstance(value, Json.Object):
        return Json.to_string(Json.Node.alloc().init_object(value), False)
    if isinstance(value, Json.Node):
        if value.get_node_type() != Json.NodeType.OBJECT:
            raise TypeError('%s must be a JSON object, not %s'
                            % (what, value.type_name()))
        return Json.to_string(value, False)
    raise TypeError('%s must be a dict, not %s'
                    % (what, type(value).__name__))


def _user_data(function, user_data, kwargs):
    """Lets user data go by keyword too (callback=…, user_data=…)."""
    if 'user_data' in kwargs:
        user_data += (kwargs.pop('user_data'),)
    if kwargs:
        raise TypeError('%s() got an unexpected keyword argument %r'
                        % (function, next(iter(kwargs))))
    return user_data


def _to_python(value):
    """A Json.Node or Json.Object as the equivalent Python value.

    The tree is walked, not written out by Json.to_string() and parsed
    again: json-glib 1.6 writes a double such as 1e41 as "1e+41.0" and
    infinity as "inf.0", which is no JSON.  Walked without recursion, so
    that the 1023 levels the library accepts fit."""
    if value is None:
        return None
    if isinstance(value, Json.Object):
        value = Json.Node.alloc().init_object(value)
    holder = [None]
    stack = [(value, holder, 0)]
    while stack:
        node, target, key = stack.pop()
        kind = node.get_node_type()
        if kind == Json.NodeType.OBJECT:
            obj = node.get_object()
            members = target[key] = {}
            for name in obj.get_members() or ():
                members[name] = None        # the order of the members
                stack.append((obj.get_member(name), members, name))
        elif kind == Json.NodeType.ARRAY:
            elements = node.get_array().get_elements() or []
            items = target[key] = [None] * len(elements)
            stack.extend((element, items, i) for i, element in enumerate(elements))
        elif kind == Json.NodeType.NULL:
            target[key] = None
        else:
            value_type = node.get_value_type()
            if value_type == GObject.TYPE_INT64:
                target[key] = node.get_int()
            elif value_type == GObject.TYPE_DOUBLE:
                target[key] = node.get_double()
            elif value_type == GObject.TYPE_BOOLEAN:
                target[key] = node.get_boolean()
            else:
                target[key] = node.get_string()
    return holder[0]


# The json module's C scanner, which json.loads() calls after two regular
# expressions and a few checks for what is around the value.
_scan = json.scanner.c_make_scanner(json.JSONDecoder()) if json.scanner.c_make_scanner else None


def _loads(text):
    """JSON text that the library checked when it came (one value, as
    the server wrote it) as Python values, as json.loads() gives them.

    What the library accepts and Python cannot hold (nesting deeper than
    Python's recursion allows, an integer of more digits than
    sys.get_int_max_str_digits()) is a GLib.Error of the Qmp.Error
    domain, Qmp.Error.PROTOCOL, as any other server data the library
    rejects."""
    try:
        if _scan is not None:
            try:
                return _scan(text, 0)[0]
            except StopIteration:
                pass            # white space before the value
        return json.loads(text)
    except RecursionError:
        raise _protocol_error("The server's JSON is nested too deeply for Python") from None
    except json.JSONDecodeError as e:
        raise _protocol_error("The server's JSON is not valid: %s" % e) from None
    except ValueError:
        raise _protocol_error("The server's JSON has an integer too long for Python") from None


def _protocol_error(message):
    """A GLib.Error of the Qmp.Error domain, Qmp.Error.PROTOCOL."""
    return GLib.Error.new_literal(Qmp.error_quark(), message, int(Qmp.Error.PROTOCOL))


def _loads_nullable(text):
    """_loads(), and None for NULL."""
    return None if text is None else _loads(text)


def _json_array_node(array):
    """A Json.Array in a Json.Node, for _to_python()."""
    return None if array is None else Json.Node.alloc().init_array(array)


def _check_timeout(timeout):
    """The timeout in seconds, or None for none: math.inf, and any
    timeout too long for a thread to wait (threading.TIMEOUT_MAX, some
    292 years), is none."""
    if timeout is None:
        return None
    timeout = float(timeout)
    if not timeout >= 0:
        raise ValueError('timeout must be a number of seconds >= 0, not %r'
                         % (timeout,))
    if timeout >= threading.TIMEOUT_MAX:
        return None
    return timeout


# ---------------------------------------------------------------- errors

_QMP_CLASSES = {
    int(Qmp.Error.GENERIC_ERROR): 'GenericError',
    int(Qmp.Error.COMMAND_NOT_FOUND): 'CommandNotFound',
    int(Qmp.Error.DEVICE_NOT_ACTIVE): 'DeviceNotActive',
    int(Qmp.Error.DEVICE_NOT_FOUND): 'DeviceNotFound',
    int(Qmp.Error.KVM_MISSING_CAP): 'KVMMissingCap',
}
_QMP_ERROR_DOMAIN = GLib.quark_to_string(Qmp.error_quark())
_IO_ERROR_DOMAIN = GLib.quark_to_string(Gio.io_error_quark())


def error_qmp_class(error):
    """error_qmp_class(error) -> str or None

    The QMP error class of a GLib.Error that a QMP server reported
    ('GenericError', 'CommandNotFound', 'DeviceNotActive',
    'DeviceNotFound' or 'KVMMissingCap'), or None for any other error
    (a protocol violation, a closed connection, a timeout…).  Also
    available as the `qmp_class` attribute of every GLib.Error::

        try:
            conn.execute_sync("device_del", {"id": "nope"})
        except GLib.Error as e:
            if e.qmp_class == "DeviceNotFound":
                pass

    The C library maps the class string to a Qmp.Error code and keeps
    no other trace of it, so a class that QEMU 7.2 does not send and
    this version does not know reads as 'GenericError' (the code it
    maps to): the string itself cannot be recovered.
    """
    if getattr(error, 'domain', None) != _QMP_ERROR_DOMAIN:
        return None
    return _QMP_CLASSES.get(error.code)


__all__.append('error_qmp_class')

if not hasattr(GLib.Error, 'qmp_class'):
    # A read-only attribute of every GLib.Error, so that also an error
    # from an _async callback's _finish call carries it.
    GLib.Error.qmp_class = property(error_qmp_class, doc=error_qmp_class.__doc__)


_TIMEOUT_MESSAGES = {
    'reply': 'Timed out after %u ms waiting for the reply to “%s”',
    'event': 'Timed out after %u ms waiting for the event “%s”',
    'any-event': 'Timed out after %u ms waiting for an event',
    'event-after-reply': 'Timed out after %u ms waiting for the event “%s” '
                         'after the reply to “%s”',
}


def _timeout_error(seconds, missing):
    """The GLib.Error of a per-call timeout; `missing` is a key of
    _TIMEOUT_MESSAGES and its arguments, saying what did not come."""
    kind, *args = missing
    msgid = _TIMEOUT_MESSAGES[kind]
    values = (int(round(seconds * 1000)),) + tuple(args)
    # The library's own catalog: the reply message is the C library's.
    try:
        message = GLib.dgettext('qmp-glib-1.0', msgid) % values
    except (TypeError, ValueError):
        message = msgid % values
    return GLib.Error.new_literal(Gio.io_error_quark(), message,
                                  int(Gio.IOErrorEnum.TIMED_OUT))


def _cancelled_error():
    return GLib.Error.new_literal(Gio.io_error_quark(),
                                  GLib.dgettext('glib20', 'Operation was cancelled'),
                                  int(Gio.IOErrorEnum.CANCELLED))


def _is_cancelled_error(error):
    return (isinstance(error, GLib.Error) and error.domain == _IO_ERROR_DOMAIN
            and error.code == int(Gio.IOErrorEnum.CANCELLED))


# ------------------------------------------------- the background thread

class _Background:
    """One daemon thread per process that iterates a private
    GLib.MainContext (its thread-default one): the calls that the asyncio
    API makes, and their callbacks, run there, whatever the caller's
    thread and event loop do."""

    def __init__(self):
        self._lock = threading.Lock()
        self._context = None

    def _run(self, context, ready):
        context.push_thread_default()
        ready.set()
        while True:
            context.iteration(True)

    @property
    def context(self):
        with self._lock:
            if self._context is None:
                context = GLib.MainContext.new()
                ready = threading.Event()
                threading.Thread(target=self._run, args=(context, ready),
                                 name='qmp-glib', daemon=True).start()
                ready.wait()
                self._context = context
            return self._context

    def invoke(self, function):
        """Calls function() in the background thread (never at once).

        At a high priority: the library emits a connection's events from
        a source of the default priority, which a flood of events keeps
        ready, and an idle source of a lower one would then never run."""
        def call(*unused):
            function()
            return GLib.SOURCE_REMOVE
        source = GLib.idle_source_new()
        source.set_priority(GLib.PRIORITY_HIGH)
        source.set_callback(call)
        source.attach(self.context)

    def reset(self):
        # After fork(), the child has no background thread.
        self._lock = threading.Lock()
        self._context = None


_background = _Background()


class _Timers:
    """The per-call timeouts: one daemon thread that sleeps until the
    earliest deadline.  A call that ends first is only marked, not
    removed, so that a serial script with a timeout on each call does not
    wake the thread twice a call (a new deadline later than the one the
    thread sleeps until needs no wake-up)."""

    def __init__(self):
        self._condition = threading.Condition(threading.Lock())
        self._heap = []
        self._live = 0
        self._sequence = 0
        self._wake_at = None      # when the thread wakes up; None: never
        self._thread = None

    def add(self, seconds, call):
        """Calls call._on_timeout() after `seconds` unless
        call.timer_done is set first (see done())."""
        deadline = time.monotonic() + seconds
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name='qmp-glib timeouts',
                                                daemon=True)
                self._thread.start()
            self._sequence += 1
            heapq.heappush(self._heap, (deadline, self._sequence, call))
            self._live += 1
            if len(self._heap) > 64 and len(self._heap) > 4 * self._live:
                # Mostly calls that ended in time: drop them.
                self._heap = [entry for entry in self._heap if not entry[2].timer_done]
                heapq.heapify(self._heap)
            if self._wake_at is None or deadline < self._wake_at:
                self._condition.notify()

    def done(self, call):
        with self._condition:
            if not call.timer_done:
                call.timer_done = True
                self._live -= 1

    def _run(self):
        with self._condition:
            while True:
                now = time.monotonic()
                expired = []
                while self._heap and (self._heap[0][2].timer_done or self._heap[0][0] <= now):
                    _, _, call = heapq.heappop(self._heap)
                    if not call.timer_done:
                        call.timer_done = True
                        self._live -= 1
                        expired.append(call)
                if expired:
                    self._condition.release()
                    try:
                        for call in expired:
                            try:
                                call._on_timeout()
                            except Exception:
                                pass        # the thread goes on for the others
                    finally:
                        self._condition.acquire()
                    continue
                self._wake_at = self._heap[0][0] if self._heap else None
                # Never more than a thread can wait (OverflowError): it
                # wakes up early then, and waits again.
                self._condition.wait(None if self._wake_at is None
                                     else min(self._wake_at - now, _MAX_WAIT))

    def reset(self):
        self.__init__()


# What _Timers waits at most at a time, far below threading.TIMEOUT_MAX.
_MAX_WAIT = 86400.0
_timers = _Timers()


class _Call:
    """The internal cancellable of one call: cancelled by the caller's
    cancellable, a timeout, Ctrl-C or an asyncio cancellation, so that
    each of them stops the call the way a cancellation does (a command
    not written yet is never sent).  `missing` says what a timeout would
    report as missing."""

    def __init__(self, cancellable, timeout, missing):
        self.internal = Gio.Cancellable()
        self.cancellable = cancellable
        self.timeout = timeout
        self.missing = missing
        self.timed_out = False
        self.interrupted = False
        self.handler_set = False        # what _Interrupts.enter() did
        self.saved_fd = None
        self._handler = None
        self.timer_done = True
        if cancellable is not None:
            self._handler = GObject.Object.connect(cancellable, 'cancelled',
                                                   self._on_cancelled)
            if cancellable.is_cancelled():
                self.internal.cancel()
        if timeout is not None:
            if timeout == 0:
                # Over before it began: never sent.
                self.timed_out = True
                self.internal.cancel()
            else:
                self.timer_done = False
                _timers.add(timeout, self)

    def _on_cancelled(self, cancellable):
        self.internal.cancel()

    def _on_timeout(self):
        # In the timer thread
        self.timed_out = True
        self.internal.cancel()

    def close(self):
        if self._handler is not None:
            GObject.Object.disconnect(self.cancellable, self._handler)
            self._handler = None
        if not self.timer_done:
            _timers.done(self)

    def error(self, error):
        """The error to raise for what the call failed with."""
        if (self.timed_out and not self.interrupted and _is_cancelled_error(error)
                and not (self.cancellable is not None and self.cancellable.is_cancelled())):
            return _timeout_error(self.timeout, self.missing)
        return error


# ---------------------------------------------------------------- Ctrl-C

_main_thread_id = threading.main_thread().ident
_SIGINT = int(signal.SIGINT)
_MARKER = b'\0'           # in the wakeup pipe: no signal has number 0


def _flush_signals():
    # A Python function call: the interpreter runs pending signal
    # handlers here (a no-op function is enough to get there).
    pass


class _Interrupts:
    """Turns Ctrl-C during a _sync call of the main thread into a
    cancellation of that call.

    A C call does not return to the interpreter, so Python's own SIGINT
    handler cannot run until it is over.  During the call, the C-level
    signal handler writes the signal number to a wakeup fd
    (signal.set_wakeup_fd) that a watcher thread reads; the watcher
    cancels the call, which then returns at once.  Meanwhile the Python
    handler only takes note, so that KeyboardInterrupt is raised by the
    override when the call is over, not in the middle of PyGObject's
    conversion of its error.

    A call with neither a timeout nor a cancellable of the caller's (the
    common case) reuses the internal cancellable of the call before when
    nothing cancelled it: making a Gio.Cancellable is most of what the
    override costs a call.  `current` goes back to None under
    `_current_lock`, which the watcher holds to cancel, so that no late
    Ctrl-C of a call that is over can cancel the next one (which may use
    the same cancellable); setting it needs no lock.

    Each SIGINT during a call reaches both the watcher (a byte in the
    pipe) and the Python handler.  When the Python handler took note of
    one, leave() waits until the watcher has read the pipe up to a marker
    byte: the byte of that same SIGINT, read late, would otherwise
    interrupt the next call too.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._current_lock = threading.Lock()
        self._wakeup_fd = -1
        self._saved_fd = -1
        self.current = None
        self._spare = None      # an internal cancellable, never cancelled
        self._sigint_noted = False
        self._synced = threading.Event()

    def _start(self):
        with self._lock:
            if self._wakeup_fd >= 0:
                return
            read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            os.set_blocking(read_fd, True)
            threading.Thread(target=self._watch, args=(read_fd,),
                             name='qmp-glib SIGINT', daemon=True).start()
            self._wakeup_fd = write_fd

    def _watch(self, fd):
        sigint = _SIGINT
        while True:
            data = os.read(fd, 64)
            marker = _MARKER in data
            if marker:
                data = data.replace(_MARKER, b'')
            saved = self._saved_fd
            if saved >= 0 and data:
                # Whoever had the wakeup fd before still gets its bytes.
                try:
                    os.write(saved, data)
                except OSError:
                    pass
            if sigint in data:
                with self._current_lock:
                    call = self.current
                    if call is not None:
                        call.interrupted = True
                        call.internal.cancel()
            if marker:
                self._synced.set()

    def _sync_watcher(self):
        """Returns once the watcher has read every byte written to the
        pipe so far (1 s at most)."""
        self._sigint_noted = False
        self._synced.clear()
        try:
            os.write(self._wakeup_fd, _MARKER)
        except OSError:
            return
        self._synced.wait(1.0)

    def _on_sigint(self, signum, frame):
        self._sigint_noted = True
        call = self.current
        if call is None:
            raise KeyboardInterrupt
        call.interrupted = True
        call.internal.cancel()

    def usable(self):
        """Whether a _sync call of this thread is to be made interruptible:
        the main thread, with Python's default SIGINT handler (not while
        another call of the thread is, nor under a handler of the
        script's own)."""
        return (threading.get_ident() == _main_thread_id
                and _signal.getsignal(_SIGINT) is _signal.default_int_handler)

    def enter(self, call):
        """Installs the note-taking handler and the wakeup fd for call;
        what it did is recorded in call, for leave() to undo even if a
        KeyboardInterrupt came in the middle."""
        if self._wakeup_fd < 0:
            self._start()
        # No lock (0.6 µs of a call): the store is atomic, and leave()
        # waited for the watcher to be done with the call before.
        self.current = call
        call.handler_set = True
        _signal.signal(_SIGINT, self._on_sigint)
        call.saved_fd = _signal.set_wakeup_fd(self._wakeup_fd)
        self._saved_fd = call.saved_fd

    def leave(self, call):
        """Restores Python's handler; returns whether Ctrl-C came."""
        try:
            # Runs the note-taking handler of a SIGINT that came at the end
            _flush_signals()
        finally:
            try:
                if call.saved_fd is not None:
                    _signal.set_wakeup_fd(call.saved_fd)
                    self._saved_fd = -1
                    # A SIGINT that wrote to the pipe is tripped by now:
                    # noted by our handler, not by Python's after it.
                    _flush_signals()
            finally:
                with self._current_lock:
                    self.current = None
                try:
                    if self._sigint_noted:
                        self._sync_watcher()
                finally:
                    if call.handler_set:
                        _signal.signal(_SIGINT, _signal.default_int_handler)
        return call.interrupted

    def run(self, function, *args):
        """function(*args, cancellable), a blocking C call of the main
        thread with no timeout and no cancellable of the caller's, made
        interruptible (see _run_guarded, of which this is the lean case)."""
        internal, self._spare = self._spare, None
        if internal is None:
            internal = Gio.Cancellable()
        call = _PlainCall(internal)
        value = error = None
        interrupted = False
        try:
            self.enter(call)
            try:
                # A cancellable that Ctrl-C cancelled already: the library
                # sends nothing.
                value = function(*args, internal)
            except GLib.Error as e:
                error = e
        finally:
            interrupted = self.leave(call)
        if interrupted:
            raise KeyboardInterrupt
        if error is not None:
            raise error
        # Only Ctrl-C cancels it, and it did not: reused, out of the
        # watcher's reach now that leave() cleared current.
        self._spare = internal
        return value

    def reset(self):
        self.__init__()


class _PlainCall:
    """What _Interrupts.enter() needs of a call: see _Call."""

    __slots__ = ('internal', 'interrupted', 'handler_set', 'saved_fd')

    def __init__(self, internal):
        self.internal = internal
        self.interrupted = False
        self.handler_set = False
        self.saved_fd = None


_interrupts = _Interrupts()
os.register_at_fork(after_in_child=lambda: (_background.reset(), _timers.reset(),
                                             _interrupts.reset()))


def _run_sync(call, cancellable, timeout=None, missing=None):
    """Runs call(cancellable), a blocking C call, so that Ctrl-C and
    `timeout` cancel it; a call from another thread than the main one,
    with no timeout, goes straight through."""
    interruptible = _interrupts.usable()
    if timeout is None:
        if not interruptible:
            if cancellable is not None and cancellable.is_cancelled():
                raise _cancelled_error()        # see _run_guarded
            return call(cancellable)
        if cancellable is None:
            return _interrupts.run(call)
    return _run_guarded(lambda state: call(state.internal), cancellable,
                        timeout, missing, interruptible)


def _run_sync_composed(start, cancellable, timeout=None, missing=None):
    """A _sync call made of start(call, done), which makes _async calls
    whose callbacks run in the thread-default main context and calls
    done(value, error) once at the end: runs them in a main context of
    its own until done() came."""
    def call(state):
        context = GLib.MainContext.new()
        result = []
        context.push_thread_default()
        try:
            start(state, lambda value, error: result.append((value, error)))
            while not result:
                context.iteration(True)
        finally:
            context.pop_thread_default()
        value, error = result[0]
        if error is not None:
            raise error
        return value
    return _run_guarded(call, cancellable, timeout, missing, _interrupts.usable())


def _run_guarded(call, cancellable, timeout, missing, interruptible):
    state = _Call(cancellable, timeout, missing)
    value = error = None
    interrupted = False
    try:
        if interruptible:
            _interrupts.enter(state)
        try:
            if state.internal.is_cancelled():
                # The C library of this version sends a command whose
                # cancellable is cancelled already: never call it then.
                raise _cancelled_error()
            value = call(state)
        except GLib.Error as e:
            error = e
    finally:
        if interruptible:
            interrupted = _interrupts.leave(state)
        state.close()
    if interrupted:
        raise KeyboardInterrupt
    if error is not None:
        raise state.error(error)
    return value


# ------------------------------------------------------------- asyncio

def _resolve(future, value, error, unclaimed):
    if future.done():
        # Cancelled after the call got its value: unclaimed() keeps it
        # (an event of a queue goes back to it).
        if error is None and unclaimed is not None:
            unclaimed(value)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _start(start, cancellable, timeout, missing, unclaimed=None):
    """Runs start(call, done) (see _run_sync_composed) in the background
    thread; returns at once an asyncio future of its result, whose
    cancellation cancels the call.  A value that the call got when the
    future was cancelled already goes to unclaimed(value), if given."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    state = _Call(cancellable, timeout, missing)

    def done(value, error):
        # In the background thread.
        state.close()
        if error is not None:
            error = state.error(error)
        try:
            loop.call_soon_threadsafe(_resolve, future, value, error, unclaimed)
        except RuntimeError:
            pass            # the event loop is closed: no one waits

    def begin():
        try:
            if state.internal.is_cancelled():
                raise _cancelled_error()    # see _run_guarded
            start(state, done)
        except Exception as e:
            done(None, e)

    def on_done(future):
        if future.cancelled():
            state.internal.cancel()

    future.add_done_callback(on_done)
    _background.invoke(begin)
    return future


async def _await(start, cancellable, timeout, missing, unclaimed=None):
    """Awaits start(call, done) run in the background thread; cancelling
    the awaiting task cancels the call."""
    return await _start(start, cancellable, timeout, missing, unclaimed)


async def _await_future(future):
    return await future


def _c_call(begin, finish):
    """A start function for an _async/_finish pair of the C library:
    begin(cancellable, callback) starts it, finish(source, result)
    gives the value."""
    def start(call, done):
        def on_ready(source, result):
            try:
                value = finish(source, result)
            except Exception as e:
                done(None, e)
            else:
                done(value, None)
        begin(call.internal, on_ready)
    return start


def _until_event(connection, command, arguments, event_name, event_match):
    """execute_until_event made of wait_event_async and execute_async, so
    that a timeout knows whether the reply or the event was missing.

    The filter is armed before the command is even queued, so an event
    that comes before the return counts, as in the C call; an error
    return finishes it at once.

    What the calls refuse is refused before either starts (a wait that
    stayed would keep the connection); should the command's call raise
    all the same, the wait is cancelled and the error goes to done()
    once it ended."""
    def start(call, done):
        for name, value in (('command', command), ('event_name', event_name)):
            if not isinstance(value, str):
                raise TypeError('%s must be a str, not %s' % (name, type(value).__name__))
        arguments_text = _to_text(arguments)
        match_object = _to_object(event_match, 'event_match')
        wait_cancellable = Gio.Cancellable()
        handler = GObject.Object.connect(call.internal, 'cancelled',
                                         lambda c: wait_cancellable.cancel())
        if call.internal.is_cancelled():
            wait_cancellable.cancel()
        outcome = {}

        def finish():
            if len(outcome) < 2:
                return
            GObject.Object.disconnect(call.internal, handler)
            reply, reply_error = outcome['reply']
            event, event_error = outcome['event']
            if reply_error is not None:
                call.missing = ('reply', command)
                done(None, reply_error)
            elif event_error is not None:
                call.missing = ('event-after-reply', event_name, command)
                done(None, event_error)
            else:
                done((event, reply), None)

        # Any exception, not only a GLib.Error: an outcome never set
        # would leave the call waiting for ever.
        def on_event(source, result):
            try:
                outcome['event'] = (Qmp.Connection.wait_event_finish(source, result), None)
            except Exception as e:
                outcome['event'] = (None, e)
            finish()

        def on_reply(source, result):
            try:
                outcome['reply'] = (_loads(Qmp.Connection.execute_text_finish(source, result)),
                                    None)
            except Exception as e:
                outcome['reply'] = (None, e)
                # An error return finishes the call at once.
                wait_cancellable.cancel()
            finish()

        Qmp.Connection.wait_event_async(connection, event_name, match_object,
                                        wait_cancellable, on_event)
        try:
            Qmp.Connection.execute_text_async(connection, command, arguments_text,
                                              Qmp.ExecuteFlags.NONE, call.internal, on_reply)
        except Exception as e:
            outcome['reply'] = (None, e)
            wait_cancellable.cancel()
    return start


def _event_missing(event_name):
    return ('event', event_name) if event_name is not None else ('any-event',)


def _is_closed_error(error):
    return (isinstance(error, GLib.Error) and error.domain == _IO_ERROR_DOMAIN
            and error.code in (int(Gio.IOErrorEnum.CLOSED),
                               int(Gio.IOErrorEnum.CONNECTION_CLOSED)))


class EventStream:
    """The events of a connection as an async iterator: what
    Qmp.Connection.events() returns, built on a Qmp.EventQueue.

    Every matching event is kept from the moment the stream exists, in
    order, whatever runs or does not run GLib's main loop; past
    `max_queued` waiting events the oldest is dropped and counted in
    `dropped`.  Iteration ends when the connection closes (once the
    events kept are out) or the stream is closed.  Use it as an async
    context manager (or call close()) to stop listening::

        async with conn.events(["STOP", "RESUME"]) as events:
            await conn.execute("stop")
            async for event in events:
                print(event.name, events.dropped)
                break
    """

    def __init__(self, connection, names, match, max_queued):
        if max_queued < 1:
            raise ValueError('max_queued must be at least 1')
        self.queue = EventQueue.new(connection, names, match, max_queued)
        self._cancellable = Gio.Cancellable()
        self._dropped = 0

    @property
    def dropped(self):
        """How many events were dropped because max_queued were waiting."""
        queue = self.queue
        return queue.get_dropped() if queue is not None else self._dropped

    def __aiter__(self):
        return self

    async def __anext__(self):
        queue = self.queue
        if queue is None:
            raise StopAsyncIteration
        try:
            return await queue.get(self._cancellable)
        except GLib.Error as e:
            if _is_closed_error(e) or (_is_cancelled_error(e) and self.queue is None):
                raise StopAsyncIteration from None
            raise

    def close(self):
        """close()

        Stops listening: the queue is dropped, and a pending iteration
        ends::

            events = conn.events("STOP")
            events.close()
        """
        queue, self.queue = self.queue, None
        if queue is not None:
            self._dropped = queue.get_dropped()
            self._cancellable.cancel()

    async def aclose(self):
        """await aclose()

        close() as a coroutine, for contextlib.aclosing()::

            await events.aclose()
        """
        self.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        return False


__all__.append('EventStream')


# ----------------------------------------------------------------- types

@override
class Event(Qmp.Event):
    """A QMP event; `data` is a dict (None when the event carries none).

    Qmp.Event.new(name, data=None, timestamp=None) -> Qmp.Event::

        event = Qmp.Event.new("DEVICE_DELETED", {"device": "k"})
        event.name, event.data, event.timestamp
        event.matches("DEVICE_DELETED", {"device": "k"})    # True
    """

    @staticmethod
    def new(name, data=None, timestamp=None):
        """new(name, data=None, timestamp=None) -> Qmp.Event

        An event named `name` with `data` (a dict or None) and
        `timestamp` (a GLib.DateTime or None)::

            event = Qmp.Event.new("STOP")
        """
        return Qmp.Event.new(name, _to_object(data, 'data'), timestamp)

    def get_data(self):
        """get_data() -> dict or None

        The data of the event as Python values::

            device = event.get_data()["device"]
        """
        return _loads_nullable(Qmp.Event.get_data_json(self))

    def matches(self, event_name=None, event_match=None):
        """matches(event_name=None, event_match=None) -> bool

        Whether the event is named `event_name` (any name if None) and
        every member of the dict `event_match` equals (deep JSON
        equality) the same member of its data::

            event.matches("JOB_STATUS_CHANGE", {"status": "concluded"})
        """
        return Qmp.Event.matches(self, event_name,
                                 _to_object(event_match, 'event_match'))

    name = property(Qmp.Event.get_name, doc='The name of the event.')
    data = property(get_data, doc='The data of the event, as a dict, or None.')
    timestamp = property(Qmp.Event.get_timestamp,
                         doc='When QEMU sent the event (a GLib.DateTime in '
                             'UTC), or None if QEMU could not read its clock.')

    def __repr__(self):
        # Never raises: data that Python cannot hold is shown as the
        # server sent it (cut short).
        try:
            data = repr(self.get_data())
        except GLib.Error:
            text = Qmp.Event.get_data_json(self) or ''
            data = 'data=%r' % (text if len(text) <= 80 else text[:77] + '...')
        return '<Qmp.Event %s %s>' % (self.get_name(), data)


__all__.append('Event')


@override
class EventQueue(Qmp.EventQueue):
    """A bounded queue of a connection's events, filled whether or not a
    main loop runs; an iterator (pop_sync) and an async iterator.

    Iteration ends when the connection closed and the events kept are
    out::

        queue = Qmp.EventQueue.new(conn, ["STOP", "RESUME"])
        conn.execute_sync("stop")
        for event in queue:                 # Ctrl-C interrupts it
            print(event.name, queue.get_dropped())
            break
    """

    @staticmethod
    def new(connection, event_names=None, event_match=None, capacity=0):
        """new(connection, event_names=None, event_match=None, capacity=0)
        -> Qmp.EventQueue

        A queue of the events of `connection` named in `event_names` (a
        str, a list of str, or None for all) whose data contain
        `event_match` (a dict), from now on; past `capacity` (0: 1024)
        the oldest is dropped and counted in get_dropped()::

            queue = Qmp.EventQueue.new(conn, "DEVICE_DELETED", {"device": "k"})
        """
        if isinstance(event_names, str):
            event_names = [event_names]
        elif event_names is not None:
            event_names = list(event_names)
        return Qmp.EventQueue.new(connection, event_names,
                                  _to_object(event_match, 'event_match'), capacity)

    def pop_sync(self, cancellable=None, *, timeout=None):
        """pop_sync(cancellable=None, *, timeout=None) -> Qmp.Event

        The oldest event kept, waiting for one if there is none.  Once
        the connection closed and the queue is empty, raises the error it
        closed with.  `timeout` (seconds) raises
        Gio.IOErrorEnum.TIMED_OUT; Ctrl-C in the main thread cancels it
        and raises KeyboardInterrupt::

            event = queue.pop_sync(timeout=10)
        """
        timeout = _check_timeout(timeout)
        event = self._take_back()
        if event is not None:
            return event
        return _run_sync(lambda c: Qmp.EventQueue.pop_sync(self, c),
                         cancellable, timeout, ('any-event',))

    def pop(self):
        """pop() -> Qmp.Event or None

        The oldest event kept, or None if there is none (never waits)::

            event = queue.pop()
        """
        event = self._take_back()
        if event is not None:
            return event
        return Qmp.EventQueue.pop(self)

    def get_length(self):
        """get_length() -> int

        How many events are kept::

            n = queue.get_length()
        """
        given_back = self.__dict__.get('_given_back')
        return Qmp.EventQueue.get_length(self) + (len(given_back) if given_back else 0)

    def _give_back(self, event):
        """Keeps an event that the pop of a cancelled get() took from the
        library's queue: older than any there, it comes out first (of
        pop(), pop_sync(), get() and iterations; pop_async() sees only the
        library's queue)."""
        given_back = self.__dict__.get('_given_back')
        if given_back is None:
            given_back = self.__dict__.setdefault('_given_back', collections.deque())
        given_back.append(event)

    def _take_back(self):
        given_back = self.__dict__.get('_given_back')
        if given_back:
            try:
                return given_back.popleft()
            except IndexError:
                pass        # another thread took it
        return None

    def pop_async(self, cancellable=None, callback=None, *user_data, **kwargs):
        """pop_async(cancellable=None, callback=None, *user_data)

        Takes the oldest event, waiting for one; the callback gets it from
        `queue.pop_finish(result)`.  Needs a GLib main loop (under
        asyncio, `await queue.get()`)::

            queue.pop_async(callback=lambda q, result: print(q.pop_finish(result)))
        """
        user_data = _user_data('pop_async', user_data, kwargs)
        Qmp.EventQueue.pop_async(self, cancellable, callback, *user_data)

    async def get(self, cancellable=None, *, timeout=None):
        """await get(cancellable=None, *, timeout=None) -> Qmp.Event

        A coroutine version of pop_sync() for asyncio; cancelling the task
        cancels the pop, and the event stays in the queue (one that the
        pop took already comes out of the next get(), pop_sync() or
        pop())::

            event = await queue.get(timeout=10)
        """
        timeout = _check_timeout(timeout)
        event = self._take_back()
        if event is not None:
            return event
        start = _c_call(lambda c, cb: Qmp.EventQueue.pop_async(self, c, cb),
                        Qmp.EventQueue.pop_finish)
        return await _await(start, cancellable, timeout, ('any-event',),
                            self._give_back)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self.pop_sync()
        except GLib.Error as e:
            if _is_closed_error(e):
                raise StopIteration from None
            raise

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.get()
        except GLib.Error as e:
            if _is_closed_error(e):
                raise StopAsyncIteration from None
            raise


__all__.append('EventQueue')


@override
class RunStateTracker(Qmp.RunStateTracker):
    """The run state of the VM behind a connection, kept true by the
    library (the `run-state` and `running` properties, with notify)::

        tracker = Qmp.RunStateTracker.new_sync(conn)
        tracker.connect("notify::run-state",
                        lambda t, pspec: print(t.props.run_state))
    """


__all__.append('RunStateTracker')


_GI_DIRECTION_OUT = 1


def _python_arguments(function):
    """(index, argument) of the arguments that Python passes to an
    introspected function (self included for a method at 0)."""
    position = 1 if function.is_method() else 0
    for argument in function.get_arguments():
        if argument.get_direction() == _GI_DIRECTION_OUT:
            continue
        yield position, argument
        position += 1


def _cancellable_position(function):
    """The index of the `cancellable` argument among the Python arguments
    of an introspected function (self included for a method), or None."""
    for position, argument in _python_arguments(function):
        if argument.get_name() == 'cancellable':
            return position
    return None


def _json_arguments(function):
    """(index, name, converter) of the Json.Object and Json.Node arguments
    of an introspected function, for the Python values it is given."""
    converters = []
    for position, argument in _python_arguments(function):
        interface = argument.get_type().get_interface()
        if interface is None or interface.get_namespace() != 'Json':
            continue
        name = argument.get_name()
        if interface.get_name() == 'Object':
            converters.append((position, name, _to_object))
        elif interface.get_name() == 'Node':
            converters.append((position, name, _to_node))
    return converters


def _convert_json(json_arguments, args, kwargs):
    """args (a list) and kwargs with the arguments of _json_arguments()
    converted in place."""
    for index, name, convert in json_arguments:
        if name in kwargs:
            kwargs[name] = convert(kwargs[name], name)
        elif index < len(args):
            args[index] = convert(args[index], name)


def _interruptible(function, doc):
    """A wrapper of the introspected _sync function `function` that Ctrl-C
    interrupts (see _run_sync), and whose Json.Object and Json.Node
    arguments take Python values too."""
    position = _cancellable_position(function)
    json_arguments = _json_arguments(function)

    def wrapper(*args, **kwargs):
        if json_arguments:
            args = list(args)
            _convert_json(json_arguments, args, kwargs)
        if 'cancellable' in kwargs:
            cancellable = kwargs.pop('cancellable')
        elif len(args) > position:
            cancellable = args[position]
            args = args[:position] + args[position + 1:]
        else:
            cancellable = None
        return _run_sync(lambda c: function(*args, cancellable=c, **kwargs),
                         cancellable)

    wrapper.__name__ = function.__name__
    wrapper.__qualname__ = function.__name__
    wrapper.__doc__ = doc
    if function.is_method():
        return wrapper
    return staticmethod(wrapper)


_CTRL_C = '''  Ctrl-C in the main thread cancels
the call and raises KeyboardInterrupt'''

# The docstrings of the _sync methods that the override wraps only for
# Ctrl-C (their arguments need no conversion).
_SYNC_DOCS = {
    'Connection.close_sync': ('close_sync(cancellable=None) -> bool',
                              'Stops talking to the server (QEMU keeps running); fails '
                              'every pending call with G_IO_ERROR_CLOSED',
                              'conn.close_sync()'),
    'Connection.stop_sync': ('stop_sync(cancellable=None) -> bool',
                             'Pauses the VM (QMP "stop")', 'conn.stop_sync()'),
    'Connection.cont_sync': ('cont_sync(cancellable=None) -> bool',
                             'Resumes the VM (QMP "cont")', 'conn.cont_sync()'),
    'Connection.quit_sync': ('quit_sync(cancellable=None) -> bool',
                             'Makes QEMU exit (QMP "quit")', 'conn.quit_sync()'),
    'Connection.system_powerdown_sync': (
        'system_powerdown_sync(cancellable=None) -> bool',
        'Asks the guest to power down; returns when it did (the SHUTDOWN '
        'event), so give a cancellable or press Ctrl-C for a guest that ignores ACPI',
        'conn.system_powerdown_sync()'),
    'Connection.query_status_sync': ('query_status_sync(cancellable=None) -> '
                                     '(Qmp.RunState, running)',
                                     'The run state of the VM',
                                     'state, running = conn.query_status_sync()'),
    'Connection.blockdev_add_sync': ('blockdev_add_sync(filename, node_name, '
                                     'cancellable=None) -> bool',
                                     'Adds a raw block node over the file `filename`',
                                     'conn.blockdev_add_sync("/tmp/disk.img", "disk0")'),
    'Connection.blockdev_del_sync': ('blockdev_del_sync(node_name, cancellable=None) -> bool',
                                     'Removes the block node `node_name`',
                                     'conn.blockdev_del_sync("disk0")'),
    'Connection.device_add_sync': ('device_add_sync(blockdev_id, device_id, driver, '
                                   'bus=None, cancellable=None) -> bool',
                                   'Adds a device (QMP "device_add")',
                                   'conn.device_add_sync("disk0", "stor0", "usb-storage", '
                                   '"xhci.0")'),
    'Connection.device_del_sync': ('device_del_sync(device_id, cancellable=None) -> bool',
                                   'Removes a device; returns when its DEVICE_DELETED came',
                                   'conn.device_del_sync("stor0")'),
    'Connection.getfd_sync': ('getfd_sync(fdname, fd, cancellable=None) -> bool',
                              'Hands QEMU a duplicate of `fd` under the name `fdname` '
                              '(QMP "getfd"); the caller keeps `fd`',
                              'conn.getfd_sync("vnc0", sock.fileno())'),
    'Connection.closefd_sync': ('closefd_sync(fdname, cancellable=None) -> bool',
                                'Closes QEMU\'s descriptor named `fdname` (QMP "closefd")',
                                'conn.closefd_sync("vnc0")'),
    'Connection.add_fd_sync': ('add_fd_sync(fd, fdset_id, opaque=None, cancellable=None) '
                               '-> (bool, fdset_id, fd)',
                               'Adds a duplicate of `fd` to a descriptor set of QEMU '
                               '(-1: a new one) and returns the set and the descriptor '
                               'QEMU assigned; the caller keeps `fd`',
                               'ok, fdset_id, qemu_fd = conn.add_fd_sync(fd, -1, "disk.img")'),
    'Connection.remove_fd_sync': ('remove_fd_sync(fdset_id, fd, cancellable=None) -> bool',
                                  'Removes a descriptor (-1: all) from a descriptor set '
                                  'of QEMU (QMP "remove-fd")',
                                  'conn.remove_fd_sync(fdset_id, -1)'),
    'Process.new_with_fds_sync': ('new_with_fds_sync(argv, fd_list, '
                                  'flags=Qmp.ConnectionFlags.NONE, cancellable=None) '
                                  '-> Qmp.Process',
                                  'Launches QEMU with `argv`, descriptor i of `fd_list` '
                                  '(a Gio.UnixFDList) being 4 + i in QEMU',
                                  'process = Qmp.Process.new_with_fds_sync([qemu, "-add-fd", '
                                  '"fd=4,set=1"], fds)'),
    'Process.new_sync': ('new_sync(argv, flags=Qmp.ConnectionFlags.NONE, '
                         'cancellable=None) -> Qmp.Process',
                         'Launches QEMU with `argv` (a list of str) and connects to '
                         'its monitor',
                         'process = Qmp.Process.new_sync(["qemu-system-x86_64", "-M", '
                         '"none", "-display", "none"])'),
    'RunStateTracker.new_sync': ('new_sync(connection, cancellable=None) -> '
                                 'Qmp.RunStateTracker',
                                 'A tracker of the run state of the VM behind `connection`, '
                                 'once its first query-status answered',
                                 'tracker = Qmp.RunStateTracker.new_sync(conn)\n'
                                 '    print(tracker.props.run_state, tracker.props.running)'),
    'Process.shutdown_sync': ('shutdown_sync(cancellable=None) -> bool',
                              'Makes QEMU quit and waits for it (killing it after '
                              'the shutdown timeout)',
                              'process.shutdown_sync()'),
}


def _sync_doc(class_name, function):
    key = '%s.%s' % (class_name, function.__name__)
    if key in _SYNC_DOCS:
        signature, summary, example = _SYNC_DOCS[key]
    else:
        signature = function.__doc__ or function.__name__ + '(…)'
        summary = 'The C library\'s ' + function.__name__
        example = '%s.%s(…)' % ('conn' if class_name == 'Connection' else 'obj',
                                function.__name__)
    return '%s\n\n%s.%s::\n\n    %s\n' % (signature, summary, _CTRL_C, example)


def _json_taking(function, class_name):
    """A wrapper of the introspected function `function` whose Json.Object
    and Json.Node arguments take Python values too."""
    json_arguments = _json_arguments(function)
    names = ', '.join(name for _, name, _ in json_arguments)

    def wrapper(*args, **kwargs):
        args = list(args)
        _convert_json(json_arguments, args, kwargs)
        return function(*args, **kwargs)

    wrapper.__name__ = function.__name__
    wrapper.__qualname__ = function.__name__
    wrapper.__doc__ = '%s\n\nThe C library\'s %s; its JSON arguments (%s) take Python values::\n\n    %s.%s(…)\n' % (
        function.__doc__ or function.__name__ + '(…)', function.__name__, names,
        'conn' if class_name == 'Connection' else 'obj', function.__name__)
    if function.is_method():
        return wrapper
    return staticmethod(wrapper)


def _wrap_sync_methods(cls, class_name, raw_class):
    """Makes every _sync function of raw_class that the override does not
    define itself interruptible by Ctrl-C (new ones too), and every other
    one that takes a Json.Object or Json.Node take Python values too."""
    for name in dir(raw_class):
        if name in cls.__dict__:
            continue
        function = getattr(raw_class, name)
        if not hasattr(function, 'get_arguments'):
            continue
        if name.endswith('_sync') and _cancellable_position(function) is not None:
            setattr(cls, name, _interruptible(function, _sync_doc(class_name, function)))
        elif _json_arguments(function):
            setattr(cls, name, _json_taking(function, class_name))


_execute_text_sync = Qmp.Connection.execute_text_sync


@override
class Connection(Qmp.Connection):
    """A QMP connection that takes and returns Python values.

    Blocking calls (`_sync`; Ctrl-C interrupts them)::

        conn = Qmp.Connection.new_for_address_sync("unix:/tmp/qmp.sock")
        conn.execute_sync("query-status")                 # a dict
        event, ret = conn.execute_until_event_sync("stop", event_name="STOP")
        conn.wait_event_sync("SHUTDOWN", timeout=60)

    Coroutines for asyncio (no GLib main loop needed)::

        conn = await Qmp.Connection.new_for_address("unix:/tmp/qmp.sock")
        status = await conn.execute("query-status", timeout=5)

    Callbacks (`_async`; need a running GLib main loop): the callback
    is called as `callback(connection, result, *user_data)`; user data
    go after the callback, positionally or as `user_data=`.
    """

    # ---- construction

    @staticmethod
    def new_for_address_sync(address, flags=Qmp.ConnectionFlags.NONE,
                             cancellable=None):
        """new_for_address_sync(address, flags=Qmp.ConnectionFlags.NONE,
        cancellable=None) -> Qmp.Connection

        Connects to `address` ("unix:PATH", "tcp:HOST:PORT" or a path)
        and negotiates capabilities.  Ctrl-C in the main thread cancels it
        and raises KeyboardInterrupt::

            conn = Qmp.Connection.new_for_address_sync("unix:/tmp/qmp.sock")
        """
        return _run_sync(
            lambda c: Qmp.Connection.new_for_address_sync(address, flags, c),
            cancellable)

    @staticmethod
    def new_sync(stream, flags=Qmp.ConnectionFlags.NONE, cancellable=None):
        """new_sync(stream, flags=Qmp.ConnectionFlags.NONE, cancellable=None)
        -> Qmp.Connection

        A connection over `stream`, a pollable Gio.IOStream (a socket
        connection), after greeting and negotiation.  Ctrl-C in the main
        thread cancels it and raises KeyboardInterrupt::

            client = Gio.SocketClient()
            stream = client.connect(Gio.UnixSocketAddress.new("/tmp/qmp.sock"))
            conn = Qmp.Connection.new_sync(stream)
        """
        return _run_sync(
            lambda c: Qmp.Connection.new_sync(stream, flags, c), cancellable)

    @staticmethod
    def new_for_address_async(address, flags=Qmp.ConnectionFlags.NONE,
                              cancellable=None, callback=None,
                              *user_data, **kwargs):
        """new_for_address_async(address, flags=Qmp.ConnectionFlags.NONE,
        cancellable=None, callback=None, *user_data)

        Connects in the background; `callback(None, result, *user_data)`
        calls Qmp.Connection.new_for_address_finish(result).  Needs a GLib
        main loop; under asyncio use `await Qmp.Connection.new_for_address()`::

            def on_connected(source, result):
                conn = Qmp.Connection.new_for_address_finish(result)

            Qmp.Connection.new_for_address_async("unix:/tmp/qmp.sock",
                                                 callback=on_connected)
        """
        user_data = _user_data('new_for_address_async', user_data, kwargs)
        Qmp.Connection.new_for_address_async(address, flags, cancellable,
                                             callback, *user_data)

    @staticmethod
    def new_async(stream, flags=Qmp.ConnectionFlags.NONE, cancellable=None,
                  callback=None, *user_data, **kwargs):
        """new_async(stream, flags=Qmp.ConnectionFlags.NONE, cancellable=None,
        callback=None, *user_data)

        Like new_for_address_async() over a Gio.IOStream; finish with
        Qmp.Connection.new_finish(result)::

            Qmp.Connection.new_async(socket_connection, callback=on_connected)
        """
        user_data = _user_data('new_async', user_data, kwargs)
        Qmp.Connection.new_async(stream, flags, cancellable, callback,
                                 *user_data)

    @staticmethod
    async def new_for_address(address, flags=Qmp.ConnectionFlags.NONE,
                              cancellable=None):
        """await Qmp.Connection.new_for_address(address,
        flags=Qmp.ConnectionFlags.NONE, cancellable=None) -> Qmp.Connection

        A coroutine that connects to `address`; cancelling the task
        cancels the connection.  The connection's signals ("event",
        "closed") are emitted in a thread of the override's, not in the
        event loop's (events() needs no signal)::

            async def main():
                conn = await Qmp.Connection.new_for_address("unix:/tmp/qmp.sock")
                print(await conn.execute("query-status"))

            asyncio.run(main())
        """
        start = _c_call(
            lambda c, cb: Qmp.Connection.new_for_address_async(address, flags, c, cb),
            lambda source, result: Qmp.Connection.new_for_address_finish(result))
        return await _await(start, cancellable, None, None)

    # ---- execute

    def execute_sync(self, command, arguments=None,
                     flags=Qmp.ExecuteFlags.NONE, cancellable=None, *,
                     timeout=None):
        """execute_sync(command, arguments=None, flags=Qmp.ExecuteFlags.NONE,
        cancellable=None, *, timeout=None) -> return value

        Runs `command` with `arguments` (a dict) and returns the "return"
        member of the reply as Python values.  A QMP error raises
        GLib.Error (see its `qmp_class`).  `timeout` (seconds) fails the
        call with Gio.IOErrorEnum.TIMED_OUT, as a cancellation does (a
        command not written yet is never sent); Ctrl-C in the main
        thread cancels it and raises KeyboardInterrupt::

            status = conn.execute_sync("query-status")
            conn.execute_sync("device_add", {"driver": "usb-kbd", "id": "k"},
                              timeout=5)
        """
        if arguments is not None:
            arguments = _to_text(arguments)
        if timeout is None and cancellable is None:
            # What _run_sync() does, without its lambda: the serial
            # round trip that every script pays.
            if _interrupts.usable():
                return _loads(_interrupts.run(_execute_text_sync, self, command, arguments,
                                              flags))
            return _loads(_execute_text_sync(self, command, arguments, flags, None))
        timeout = _check_timeout(timeout)
        return _loads(_run_sync(
            lambda c: _execute_text_sync(self, command, arguments, flags, c),
            cancellable, timeout, ('reply', command)))

    def execute_async(self, command, arguments=None,
                      flags=Qmp.ExecuteFlags.NONE, cancellable=None,
                      callback=None, *user_data, **kwargs):
        """execute_async(command, arguments=None, flags=Qmp.ExecuteFlags.NONE,
        cancellable=None, callback=None, *user_data)

        Starts `command`; `callback(conn, result, *user_data)` gets its
        "return" member from `conn.execute_finish(result)`.  Needs a GLib
        main loop (under asyncio, `await conn.execute()`)::

            def on_status(conn, result):
                print(conn.execute_finish(result)["status"])

            conn.execute_async("query-status", callback=on_status)
        """
        user_data = _user_data('execute_async', user_data, kwargs)
        Qmp.Connection.execute_text_async(self, command, _to_text(arguments),
                                          flags, cancellable, callback, *user_data)

    def execute_finish(self, result):
        """execute_finish(result) -> return value

        The "return" member of execute_async()'s reply, as Python values::

            status = conn.execute_finish(result)
        """
        return _loads(Qmp.Connection.execute_text_finish(self, result))

    async def execute(self, command, arguments=None,
                      flags=Qmp.ExecuteFlags.NONE, cancellable=None, *,
                      timeout=None):
        """await execute(command, arguments=None, flags=Qmp.ExecuteFlags.NONE,
        cancellable=None, *, timeout=None) -> return value

        A coroutine that runs `command`, for asyncio (no GLib main loop
        needed).  Cancelling the task cancels the command (one not written
        yet is never sent); `timeout` is in seconds::

            status = await conn.execute("query-status", timeout=5)
        """
        timeout = _check_timeout(timeout)
        start = _c_call(
            lambda c, cb: Qmp.Connection.execute_text_async(
                self, command, _to_text(arguments), flags, c, cb),
            lambda source, result: _loads(Qmp.Connection.execute_text_finish(source, result)))
        return await _await(start, cancellable, timeout, ('reply', command))

    # ---- execute with file descriptors

    def execute_with_fds_sync(self, command, arguments=None, fd_list=None,
                              flags=Qmp.ExecuteFlags.NONE, cancellable=None, *,
                              timeout=None):
        """execute_with_fds_sync(command, arguments=None, fd_list=None,
        flags=Qmp.ExecuteFlags.NONE, cancellable=None, *, timeout=None)
        -> return value

        execute_sync() that hands the server the descriptors of `fd_list`
        (a Gio.UnixFDList) with the command, by SCM_RIGHTS; the call sends
        duplicates, so the caller keeps its list::

            fds = Gio.UnixFDList.new_from_array([os.dup(sock.fileno())])
            conn.execute_with_fds_sync("getfd", {"fdname": "vnc0"}, fds)
        """
        timeout = _check_timeout(timeout)
        arguments = _to_object(arguments)
        return _to_python(_run_sync(
            lambda c: Qmp.Connection.execute_with_fds_sync(
                self, command, arguments, fd_list, flags, c),
            cancellable, timeout, ('reply', command)))

    def execute_with_fds_async(self, command, arguments=None, fd_list=None,
                               flags=Qmp.ExecuteFlags.NONE, cancellable=None,
                               callback=None, *user_data, **kwargs):
        """execute_with_fds_async(command, arguments=None, fd_list=None,
        flags=Qmp.ExecuteFlags.NONE, cancellable=None, callback=None,
        *user_data)

        execute_async() with the descriptors of `fd_list` (a
        Gio.UnixFDList); finish with execute_with_fds_finish(result)::

            conn.execute_with_fds_async("add-fd", None, fds, callback=on_added)
        """
        user_data = _user_data('execute_with_fds_async', user_data, kwargs)
        Qmp.Connection.execute_with_fds_async(self, command, _to_object(arguments),
                                              fd_list, flags, cancellable, callback,
                                              *user_data)

    def execute_with_fds_finish(self, result):
        """execute_with_fds_finish(result) -> return value

        The "return" member of execute_with_fds_async()'s reply::

            added = conn.execute_with_fds_finish(result)   # {'fdset-id': 0, 'fd': 24}
        """
        return _to_python(Qmp.Connection.execute_with_fds_finish(self, result))

    def execute_with_fdset_sync(self, fdset_id, command, arguments=None,
                                flags=Qmp.ExecuteFlags.NONE, cancellable=None):
        """execute_with_fdset_sync(fdset_id, command, arguments=None,
        flags=Qmp.ExecuteFlags.NONE, cancellable=None) -> return value

        Runs `command`, which uses the descriptor set `fdset_id`, and
        removes the set from QEMU again if the command fails.  Ctrl-C in
        the main thread cancels the call (the set is still removed) and
        raises KeyboardInterrupt::

            ok, fdset_id, fd = conn.add_fd_sync(image_fd, -1, "disk.img")
            conn.execute_with_fdset_sync(fdset_id, "blockdev-add", {
                "driver": "raw", "node-name": "disk0", "read-only": True,
                "file": {"driver": "file", "filename": "/dev/fdset/%d" % fdset_id}})
        """
        arguments = _to_object(arguments)
        return _to_python(_run_sync(
            lambda c: Qmp.Connection.execute_with_fdset_sync(
                self, fdset_id, command, arguments, flags, c),
            cancellable, None, ('reply', command)))

    def execute_with_fdset_async(self, fdset_id, command, arguments=None,
                                 flags=Qmp.ExecuteFlags.NONE, cancellable=None,
                                 callback=None, *user_data, **kwargs):
        """execute_with_fdset_async(fdset_id, command, arguments=None,
        flags=Qmp.ExecuteFlags.NONE, cancellable=None, callback=None,
        *user_data)

        execute_with_fdset_sync() for a GLib main loop; finish with
        execute_with_fdset_finish(result)::

            conn.execute_with_fdset_async(fdset_id, "blockdev-add", node,
                                          callback=on_added)
        """
        user_data = _user_data('execute_with_fdset_async', user_data, kwargs)
        Qmp.Connection.execute_with_fdset_async(self, fdset_id, command,
                                                _to_object(arguments), flags,
                                                cancellable, callback, *user_data)

    def execute_with_fdset_finish(self, result):
        """execute_with_fdset_finish(result) -> return value

        The "return" member of the command's reply::

            conn.execute_with_fdset_finish(result)
        """
        return _to_python(Qmp.Connection.execute_with_fdset_finish(self, result))

    def query_fdsets_sync(self, cancellable=None):
        """query_fdsets_sync(cancellable=None) -> list

        QEMU's descriptor sets, as a list of dicts::

            for fdset in conn.query_fdsets_sync():
                print(fdset["fdset-id"], [fd["fd"] for fd in fdset["fds"]])
        """
        return _to_python(_json_array_node(
            Qmp.Connection.query_fdsets_sync(self, cancellable)))

    def query_fdsets_finish(self, result):
        """query_fdsets_finish(result) -> list

        The sets of query_fdsets_async(), as a list of dicts::

            sets = conn.query_fdsets_finish(result)
        """
        return _to_python(_json_array_node(
            Qmp.Connection.query_fdsets_finish(self, result)))

    # ---- execute until an event

    def execute_until_event_sync(self, command, arguments=None,
                                 event_name=None, event_match=None,
                                 cancellable=None, *, timeout=None):
        """execute_until_event_sync(command, arguments=None, event_name,
        event_match=None, cancellable=None, *, timeout=None) -> (event, return)

        Runs `command` until both its return and an `event_name` event
        whose data contain `event_match` (a dict) came; an event that
        comes before the return counts.  A timeout's message says
        whether the reply or the event was missing; Ctrl-C in the main
        thread cancels it and raises KeyboardInterrupt::

            event, ret = conn.execute_until_event_sync(
                "device_del", {"id": "k"}, "DEVICE_DELETED", {"device": "k"},
                timeout=10)
        """
        if event_name is None:
            raise TypeError('execute_until_event_sync() needs an event_name')
        timeout = _check_timeout(timeout)
        return _run_sync_composed(
            _until_event(self, command, arguments, event_name, event_match),
            cancellable, timeout, ('reply', command))

    def execute_until_event_async(self, command, arguments=None,
                                  event_name=None, event_match=None,
                                  cancellable=None, callback=None,
                                  *user_data, **kwargs):
        """execute_until_event_async(command, arguments=None, event_name,
        event_match=None, cancellable=None, callback=None, *user_data)

        Starts execute_until_event; the callback gets (event, return) from
        `conn.execute_until_event_finish(result)`.  Needs a GLib main loop
        (under asyncio, `await conn.execute_until_event()`)::

            conn.execute_until_event_async("stop", event_name="STOP",
                                           callback=on_stopped)
        """
        if event_name is None:
            raise TypeError('execute_until_event_async() needs an event_name')
        user_data = _user_data('execute_until_event_async', user_data, kwargs)
        Qmp.Connection.execute_until_event_async(
            self, command, _to_object(arguments), event_name,
            _to_object(event_match, 'event_match'), cancellable,
            callback, *user_data)

    def execute_until_event_finish(self, result):
        """execute_until_event_finish(result) -> (event, return)

        What execute_until_event_async() got::

            event, ret = conn.execute_until_event_finish(result)
        """
        event, ret = Qmp.Connection.execute_until_event_finish(self, result)
        return event, _to_python(ret)

    async def execute_until_event(self, command, arguments=None,
                                  event_name=None, event_match=None,
                                  cancellable=None, *, timeout=None):
        """await execute_until_event(command, arguments=None, event_name,
        event_match=None, cancellable=None, *, timeout=None) -> (event, return)

        A coroutine version of execute_until_event_sync() for asyncio;
        cancelling the task cancels the call::

            event, ret = await conn.execute_until_event("stop", event_name="STOP")
        """
        if event_name is None:
            raise TypeError('execute_until_event() needs an event_name')
        timeout = _check_timeout(timeout)
        start = _until_event(self, command, arguments, event_name, event_match)
        return await _await(start, cancellable, timeout, ('reply', command))

    # ---- events

    def wait_event_sync(self, event_name=None, event_match=None,
                        cancellable=None, *, timeout=None):
        """wait_event_sync(event_name=None, event_match=None,
        cancellable=None, *, timeout=None) -> Qmp.Event

        Waits for the next `event_name` event (any if None) whose data
        contain `event_match` (a dict), from the moment of the call on.
        Ctrl-C in the main thread cancels it and raises KeyboardInterrupt::

            event = conn.wait_event_sync("SHUTDOWN", timeout=60)
        """
        timeout = _check_timeout(timeout)
        event_match = _to_object(event_match, 'event_match')
        return _run_sync(
            lambda c: Qmp.Connection.wait_event_sync(self, event_name, event_match, c),
            cancellable, timeout, _event_missing(event_name))

    def wait_event_async(self, event_name=None, event_match=None,
                         cancellable=None, callback=None,
                         *user_data, **kwargs):
        """wait_event_async(event_name=None, event_match=None,
        cancellable=None, callback=None, *user_data)

        Starts waiting for an event; the callback gets it from
        `conn.wait_event_finish(result)`.  Needs a GLib main loop (under
        asyncio, `await conn.wait_event()`)::

            conn.wait_event_async("STOP", callback=on_stop)
        """
        user_data = _user_data('wait_event_async', user_data, kwargs)
        Qmp.Connection.wait_event_async(
            self, event_name, _to_object(event_match, 'event_match'),
            cancellable, callback, *user_data)

    def wait_event(self, event_name=None, event_match=None,
                   cancellable=None, *, timeout=None):
        """await wait_event(event_name=None, event_match=None,
        cancellable=None, *, timeout=None) -> Qmp.Event

        A coroutine version of wait_event_sync() for asyncio, to call in
        a coroutine.  The filter is armed when wait_event() returns, before
        the coroutine is awaited, so an event caused by a command sent
        after the call counts; cancelling the awaiting task cancels it::

            waiter = asyncio.create_task(conn.wait_event("STOP"))
            await conn.execute("stop")
            event = await waiter
        """
        timeout = _check_timeout(timeout)
        # Armed here, in the caller's thread, without waiting for the
        # background thread (busy with a handler of the connection's
        # signals, perhaps): a queue that the library fills on its I/O
        # thread, of which the background thread takes the first event.
        # Past 1024 events kept before it does, the first are dropped.
        queue = Qmp.EventQueue.new(self, None if event_name is None else [event_name],
                                   _to_object(event_match, 'event_match'), 0)
        start = _c_call(
            lambda c, cb: Qmp.EventQueue.pop_async(queue, c, cb),
            Qmp.EventQueue.pop_finish)
        return _await_future(_start(start, cancellable, timeout,
                                    _event_missing(event_name)))

    def events(self, names=None, match=None, *, max_queued=1000):
        """events(names=None, match=None, *, max_queued=1000) -> EventStream

        The events named `names` (a str, a list of str, or None for all)
        whose data contain `match` (a dict), from now on, as an async
        iterator that ends when the connection closes.  At most
        `max_queued` events wait; past that the oldest is dropped and
        counted in the stream's `dropped`::

            async with conn.events(["STOP", "RESUME"]) as events:
                await conn.execute("stop")
                async for event in events:
                    print(event.name)
                    break

        A Qmp.EventQueue in the stream's `queue` keeps them, on the
        library's I/O thread, so no main loop needs to run.
        """
        return EventStream(self, names, match, max_queued)

    # ---- close

    async def close(self, cancellable=None):
        """await close(cancellable=None) -> bool

        A coroutine that closes the connection (QEMU keeps running); every
        pending call fails with G_IO_ERROR_CLOSED and events() iterations
        end::

            await conn.close()
        """
        start = _c_call(
            lambda c, cb: Qmp.Connection.close_async(self, c, cb),
            Qmp.Connection.close_finish)
        return await _await(start, cancellable, None, None)


_wrap_sync_methods(Connection, 'Connection', Qmp.Connection)
__all__.append('Connection')


@override
class Process(Qmp.Process):
    """A QEMU that the library launched, with a connection to it::

        process = Qmp.Process.new_sync(["qemu-system-x86_64", "-M", "none",
                                        "-display", "none"])
        conn = process.get_connection()
        process.shutdown_sync()

    Under asyncio::

        process = await Qmp.Process.launch(argv)
        await process.shutdown()
    """

    @staticmethod
    def new_async(argv, flags=Qmp.ConnectionFlags.NONE, cancellable=None,
                  callback=None, *user_data, **kwargs):
        """new_async(argv, flags=Qmp.ConnectionFlags.NONE, cancellable=None,
        callback=None, *user_data)

        Launches QEMU in the background; finish with
        Qmp.Process.new_finish(result).  Needs a GLib main loop (under
        asyncio, `await Qmp.Process.launch()`)::

            Qmp.Process.new_async(argv, callback=on_launched)
        """
        user_data = _user_data('new_async', user_data, kwargs)
        Qmp.Process.new_async(argv, flags, cancellable, callback, *user_data)

    @staticmethod
    async def launch(argv, flags=Qmp.ConnectionFlags.NONE, cancellable=None):
        """await Qmp.Process.launch(argv, flags=Qmp.ConnectionFlags.NONE,
        cancellable=None) -> Qmp.Process

        A coroutine that launches QEMU with `argv` and connects to it; the
        connection's signals are emitted in a thread of the override's,
        not in the event loop's::

            process = await Qmp.Process.launch(
                ["qemu-system-x86_64", "-M", "none", "-display", "none"])
            conn = process.get_connection()
        """
        start = _c_call(
            lambda c, cb: Qmp.Process.new_async(argv, flags, c, cb),
            lambda source, result: Qmp.Process.new_finish(result))
        return await _await(start, cancellable, None, None)

    async def shutdown(self, cancellable=None):
        """await shutdown(cancellable=None) -> bool

        A coroutine that makes QEMU quit and waits for it to exit::

            await process.shutdown()
        """
        start = _c_call(
            lambda c, cb: Qmp.Process.shutdown_async(self, c, cb),
            Qmp.Process.shutdown_finish)
        return await _await(start, cancellable, None, None)


def _process_new_sync(argv, flags=Qmp.ConnectionFlags.NONE, cancellable=None):
    return _run_sync(lambda c: Qmp.Process.new_sync(argv, flags, c), cancellable)


_process_new_sync.__name__ = 'new_sync'
_process_new_sync.__doc__ = _sync_doc('Process', Qmp.Process.new_sync)
Process.new_sync = staticmethod(_process_new_sync)
_wrap_sync_methods(Process, 'Process', Qmp.Process)
__all__.append('Process')
_wrap_sync_methods(RunStateTracker, 'RunStateTracker', Qmp.RunStateTracker)


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
    if not text.isascii():
        _check_utf8(text, what)
    _check_exact(value, what)
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
