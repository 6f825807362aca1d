-- Creates an Ardour 7 session with one MIDI track "Drums" holding an instrument plugin.
-- Run with ardour7-lua (headless, no display). Part of tests/ardour/render_midi.sh.
--
-- env: SESS_DIR (required; must not exist yet), SESS_NAME (default "drums"),
--      RATE (default 48000), PLUGIN_NAME (default "Neural Drum Machine"),
--      PLUGIN_TYPE ("VST3", default, or "LV2", e.g. Ardour's built-in "ACE Reasonable Synth").
-- The headless tools find VST3 plugins only through Ardour's plugin cache: run
-- ardour-vst3-scanner on the bundle first (render_midi.sh does).
local dir = assert(os.getenv("SESS_DIR"), "set SESS_DIR")
local name = os.getenv("SESS_NAME") or "drums"
local rate = tonumber(os.getenv("RATE") or "48000")
local pname = os.getenv("PLUGIN_NAME") or "Neural Drum Machine"
local ptype = ARDOUR.PluginType.VST3
if os.getenv("PLUGIN_TYPE") == "LV2" then ptype = ARDOUR.PluginType.LV2 end

-- "None (Dummy)": Ardour's own audio backend without a sound card; export freewheels on it.
assert(AudioEngine:set_backend("None (Dummy)", "", ""), "no 'None (Dummy)' backend")
assert(AudioEngine:start() == 0, "audio engine start failed")
assert(create_session(dir, name, rate), "create_session failed")
-- Stop the engine before adding the track: with it running, Ardour 7.3 aborts in about half of
-- the runs here ("Port already exists: Drums/audio_out 1", then std::logic_error), a race between
-- the track's port registration and the running engine. Stopped: 0 aborts in 8+ runs.
AudioEngine:stop()

local info = ARDOUR.LuaAPI.new_plugin_info(pname, ptype)
assert(not info:isnil(), "plugin '" .. pname .. "' not in Ardour's plugin cache (scan it first)")
-- 1 MIDI input, 2 audio outputs (the plugin's main stereo pair), strict I/O.
local tracks = Session:new_midi_track(
  ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1), ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2),
  true, info, nil, nil, 1, "Drums", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal,
  true, false)
local track = tracks:front()
assert(not track:nth_plugin(0):isnil(), "the plugin was not instantiated on the track")
-- With the engine stopped Ardour did not auto-connect the track: start it again and connect the
-- track's two outputs to the master bus's inputs.
assert(AudioEngine:start() == 0, "audio engine restart failed")
local outs, master_in = track:output(), Session:master_out():input()
for i = 0, 1 do
  local port = outs:audio(i)
  assert(not port:isnil(), "the track has no audio output " .. (i + 1))
  if not port:connected() then
    assert(outs:connect(port, master_in:audio(i):name(), nil) == 0, "cannot connect output " .. (i + 1))
  end
end
print("session", dir, "rate", rate, "track", track:name(), "plugin", track:nth_plugin(0):display_name())
Session:save_state("", false, false, false, false, false)
close_session()
