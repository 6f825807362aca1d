#!/usr/bin/env python3
"""Adds a MIDI region with the given notes to the track "Drums" of an Ardour 7 session, and sets
the session range (the range ardour7-export renders). Part of tests/ardour/render_midi.sh.

usage: add_midi_region.py SESS_DIR SESS_NAME "36@0.0 38@0.5:90 ..." RANGE_SEC

Notes are note@seconds[:velocity] (velocity 1..127, default 100), each 1/8 s long (the drum
plugin ignores note-offs). Ardour 7.3's Lua API cannot create MIDI sources or regions, so this
writes a Standard MIDI File into the session's interchange folder and adds a Source, a whole-file
Region and a playlist Region to the session XML. The session must be fresh (made by
make_session.lua, never a copied folder) and closed.
Standard library only (runs with the system python3).
"""
import os
import struct
import sys
import xml.etree.ElementTree as ET

PPQN = 1920            # Ardour's ticks per quarter note
BPM = 120.0            # a new session's tempo: one beat = 0.5 s
SUPERCLOCK = 282240000  # Ardour 7's superclock ticks per second ("a<N>" positions)
NOTE_LEN_S = 0.125


def parse_notes(text):
    notes = []
    for tok in text.split():
        key, rest = tok.split("@")
        t, _, vel = rest.partition(":")
        key, t, vel = int(key), float(t), int(vel or 100)
        if not (0 <= key <= 127 and 1 <= vel <= 127 and t >= 0):
            raise SystemExit(f"bad note {tok!r} (note@seconds[:velocity])")
        notes.append((key, t, vel))
    return notes


def ticks(seconds):
    return round(seconds * BPM / 60.0 * PPQN)


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out)


def smf(notes):
    """A format-0 Standard MIDI File, channel 1, at PPQN ticks per beat (the session tempo)."""
    events = []
    for key, t, vel in notes:
        events.append((ticks(t), 1, bytes([0x90, key, vel])))
        events.append((ticks(t + NOTE_LEN_S), 0, bytes([0x80, key, 0])))
    events.sort(key=lambda e: (e[0], e[1]))  # note-offs before note-ons at the same tick
    track, last = b"", 0
    for tick, _, data in events:
        track += vlq(tick - last) + data
        last = tick
    track += vlq(0) + b"\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQN)
            + b"MTrk" + struct.pack(">I", len(track)) + track)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    sess_dir, sess_name, note_text, range_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    notes = parse_notes(note_text)
    if not notes:
        raise SystemExit("no notes")
    if max(t for _, t, _ in notes) >= range_s:
        raise SystemExit("a note lies outside the session range")

    interchange = os.path.join(sess_dir, "interchange")
    subdirs = os.listdir(interchange) if os.path.isdir(interchange) else []
    midi_dir = os.path.join(interchange, subdirs[0] if len(subdirs) == 1 else sess_name, "midifiles")
    os.makedirs(midi_dir, exist_ok=True)
    with open(os.path.join(midi_dir, "notes.mid"), "wb") as f:
        f.write(smf(notes))

    path = os.path.join(sess_dir, sess_name + ".ardour")
    tree = ET.parse(path)
    root = tree.getroot()
    used = [int(e.get("id")) for e in root.iter() if e.tag != "Port" and (e.get("id") or "").isdigit()]
    base = max(used) + 1000
    source_id, whole_id, region_id, range_id = (str(base + i) for i in range(4))

    # The region covers the whole range, in beats; a length must be written "b<ticks>@a0".
    length_ticks = ticks(range_s)
    region = {
        "muted": "0", "opaque": "1", "locked": "0", "video-locked": "0", "automatic": "0",
        "import": "0", "external": "0", "sync-marked": "0", "left-of-split": "0",
        "right-of-split": "0", "hidden": "0", "position-locked": "0", "valid-transients": "0",
        "start": "b0", "length": f"b{length_ticks}@a0", "beat": "0", "sync-position": "b0",
        "layer": "0", "ancestral-start": "b0", "ancestral-length": "b0@a0", "stretch": "1",
        "shift": "1", "layering-index": "0", "tags": "", "contents": "1", "type": "midi",
        "first-edit": "nothing", "source-0": source_id, "master-source-0": source_id,
    }
    root.find("Sources").append(ET.Element(
        "Source", name="notes.mid", type="midi", flags="", id=source_id, origin=""))
    root.find("Regions").append(ET.Element(
        "Region", name="notes", id=whole_id, **{"whole-file": "1"}, **region))
    routes = [r for r in root.iter("Route") if r.get("name") == "Drums"]
    if not routes:
        raise SystemExit("no track 'Drums' in " + path)
    playlist_id = routes[0].get("midi-playlist")
    playlists = [p for p in root.find("Playlists") if p.get("id") == playlist_id]
    if not playlists:
        raise SystemExit("the playlist of 'Drums' is missing in " + path)
    playlists[0].append(ET.Element(
        "Region", name="notes.1", id=region_id, **{"whole-file": "0"}, **region))

    # Session range = export range: 0 .. range_s.
    locations = root.find("Locations")
    for loc in list(locations):
        if "IsSessionRange" in (loc.get("flags") or ""):
            locations.remove(loc)
    locations.append(ET.Element(
        "Location", id=range_id, name="session", start="a0", end=f"a{round(SUPERCLOCK * range_s)}",
        flags="IsSessionRange", locked="0", timestamp="0", cue="0"))

    xml = ET.tostring(root, encoding="unicode")
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n' + xml)
    print(f"{len(notes)} notes, range {range_s} s, source {source_id} in {path}")


if __name__ == "__main__":
    main()
