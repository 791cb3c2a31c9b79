#!/usr/bin/python3
# vm-panel.py: a small GTK 4 VM manager on qmp-glib
#
# Launches its own QEMU, shows the machine's run state as QEMU reports it,
# has Pause / Resume / Power off / Reset buttons and a log of QEMU's
# events, and quits QEMU when the window closes.  Nothing blocks the user
# interface: every call is asynchronous.
#
#   ./vm-panel.py [QEMU-BINARY]
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi
gi.require_version('Gtk', '4.0')
gi.require_version('Qmp', '1.0')
from gi.repository import Gio, GLib, GObject, Gtk, Qmp


class VmPanel(Gtk.ApplicationWindow):
    def __init__(self, application, qemu):
        super().__init__(application=application, title='VM panel',
                         default_width=420, default_height=360)
        self.process = None
        self.tracker = None
        self.closing = False
        self.cancellable = Gio.Cancellable()

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6,
                      margin_top=12, margin_bottom=12, margin_start=12, margin_end=12)
        self.set_child(box)

        self.state_label = Gtk.Label(label='starting QEMU…', xalign=0)
        self.state_label.add_css_class('title-2')
        box.append(self.state_label)

        buttons = Gtk.Box(spacing=6)
        box.append(buttons)
        self.buttons = {}
        for name, label in (('pause', 'Pause'), ('resume', 'Resume'),
                            ('powerdown', 'Power off'), ('reset', 'Reset')):
            button = Gtk.Button(label=label, sensitive=False)
            button.connect('clicked', getattr(self, 'on_' + name))
            buttons.append(button)
            self.buttons[name] = button

        self.log = Gtk.ListBox(selection_mode=Gtk.SelectionMode.NONE)
        scrolled = Gtk.ScrolledWindow(child=self.log, vexpand=True)
        box.append(scrolled)

        self.connect('close-request', self.on_close_request)

        argv = [qemu, '-M', 'pc', '-S', '-display', 'none', '-nodefaults']
        Qmp.Process.new_async(argv, Qmp.ConnectionFlags.NONE, self.cancellable,
                              self.on_process)

    # ------------------------------------------------------------ QEMU

    def on_process(self, source, result):
        try:
            self.process = Qmp.Process.new_finish(result)
        except GLib.Error as e:
            if self.closing:
                self.destroy()
            else:
                self.state_label.set_label('QEMU did not start: %s' % e.message)
            return
        if self.closing:
            self.shut_down()
            return

        connection = self.process.get_connection()
        connection.connect('event', self.on_event)
        connection.connect('closed', self.on_closed)

        # The tracker asks query-status after each event that may change
        # the state; it starts at UNKNOWN and notifies the first reply.
        self.tracker = Qmp.RunStateTracker(connection=connection)
        self.tracker.bind_property('run-state', self.state_label, 'label',
                                   GObject.BindingFlags.SYNC_CREATE,
                                   lambda binding, state: Qmp.RunState.to_string(state)
                                   if state != Qmp.RunState.UNKNOWN else '…')
        self.tracker.connect('notify::run-state', self.update_buttons)
        self.tracker.connect('notify::running', self.update_buttons)
        self.update_buttons()

    def update_buttons(self, *args):
        state = self.tracker.props.run_state if self.tracker else Qmp.RunState.UNKNOWN
        running = self.tracker.props.running if self.tracker else False
        alive = state not in (Qmp.RunState.UNKNOWN, Qmp.RunState.SHUTDOWN) and not self.closing
        self.buttons['pause'].set_sensitive(alive and running)
        self.buttons['resume'].set_sensitive(alive and not running)
        self.buttons['powerdown'].set_sensitive(alive)
        self.buttons['reset'].set_sensitive(alive)

    def on_event(self, connection, event):
        when = event.timestamp.to_local().format('%T') if event.timestamp else '?'
        row = Gtk.Label(label='%s  %s' % (when, event.name), xalign=0)
        row.set_name('event-' + event.name)
        self.log.append(row)

    def on_closed(self, connection, remote_peer_vanished, error):
        self.update_buttons()

    def run_command(self, start, finish):
        def done(connection, result):
            try:
                finish(connection, result)
            except GLib.Error as e:
                self.on_error(e)
        start(self.process.get_connection(), self.cancellable, done)

    def on_error(self, error):
        if not error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
            row = Gtk.Label(label='error: %s' % error.message, xalign=0)
            self.log.append(row)

    def on_pause(self, button):
        self.run_command(Qmp.Connection.stop_async, Qmp.Connection.stop_finish)

    def on_resume(self, button):
        self.run_command(Qmp.Connection.cont_async, Qmp.Connection.cont_finish)

    def on_powerdown(self, button):
        # Finishes when the guest has shut down: with no guest OS that
        # answers ACPI, it waits, and the window's close cancels it.
        self.run_command(Qmp.Connection.system_powerdown_async,
                         Qmp.Connection.system_powerdown_finish)

    def on_reset(self, button):
        def done(connection, result):
            try:
                connection.execute_finish(result)
            except GLib.Error as e:
                self.on_error(e)
        self.process.get_connection().execute_async('system_reset', None,
                                                    Qmp.ExecuteFlags.NONE,
                                                    self.cancellable, done)

    # ------------------------------------------------------- closing

    def on_close_request(self, window):
        # QEMU must not outlive the window: quit it, then close.
        if self.closing:
            return True
        self.closing = True
        self.state_label.set_label('shutting down…')
        self.update_buttons()
        self.cancellable.cancel()
        if self.process is not None:
            self.shut_down()
        return True

    def shut_down(self):
        def done(process, result):
            try:
                process.shutdown_finish(result)
            except GLib.Error as e:
                print('shutdown: %s' % e.message, file=sys.stderr)
            self.process = None
            self.tracker = None
            self.destroy()
        self.process.shutdown_async(None, done)


class VmPanelApplication(Gtk.Application):
    def __init__(self, qemu):
        super().__init__(application_id='org.example.QmpVmPanel',
                         flags=Gio.ApplicationFlags.NON_UNIQUE)
        self.qemu = qemu
        self.window = None

    def do_activate(self):
        if self.window is None:
            self.window = VmPanel(self, self.qemu)
        self.window.present()


def main(argv):
    qemu = argv[1] if len(argv) > 1 else 'qemu-system-x86_64'
    return VmPanelApplication(qemu).run([argv[0]])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
