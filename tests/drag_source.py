#!/usr/bin/env python3
"""A real XDND drag source for the editor drop test (tests/drop.sh): a small GTK 3 window that
offers one file as `text/uri-list`, the way file managers do. Dragging starts when a mouse
button goes down on the window and the pointer moves (xdotool does both).

usage: drag_source.py FILE [X Y]   (window position, default 1300 100)
Prints "ready", then "drag-begin", "drag-data-get <uri>" and "drag-end <action>" on stdout.
needs: apt-get install -y python3-gi gir1.2-gtk-3.0
"""
import os
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

TITLE = "ndm drag source"


def say(*words):
    print(*words, flush=True)


def main():
    path = os.path.abspath(sys.argv[1])
    x, y = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (1300, 100)
    uri = GLib.filename_to_uri(path, None)

    win = Gtk.Window(title=TITLE)
    win.set_default_size(220, 140)
    win.move(x, y)
    box = Gtk.EventBox()
    box.add(Gtk.Label(label="drag " + os.path.basename(path)))
    box.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
    box.drag_source_add_uri_targets()

    def on_get(_widget, _context, data, _info, _time):
        data.set_uris([uri])
        say("drag-data-get", uri)

    def on_end(_widget, context):
        action = context.get_selected_action()
        say("drag-end", action.value_nicks[0] if action.value_nicks else int(action))

    box.connect("drag-begin", lambda *_: say("drag-begin"))
    box.connect("drag-data-get", on_get)
    box.connect("drag-end", on_end)
    win.add(box)
    win.connect("destroy", Gtk.main_quit)
    win.show_all()
    GLib.timeout_add(300, lambda: say("ready") and False)
    Gtk.main()


if __name__ == "__main__":
    main()
