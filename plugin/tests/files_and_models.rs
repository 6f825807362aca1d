//! The editor's file dialog fallback, kit export and model chooser, driven as a user drives them
//! but without a window: no XDG portal here (as in CI), so the in-editor browser opens; a file
//! chosen in it is encoded onto the pad; an export into a chosen folder is written and never
//! replaces files unasked; a model added from a folder is switched to, every pad is made again
//! by it, and a project remembers it by hash (and says so when it is missing).
//!
//! One test function: the process environment (model dir, config dir) is shared by the test
//! threads of this binary.

mod common;
use common::tiny_model_dir;
use ndm_core::catalog::ModelLocation;
use ndm_core::kit_export::KitFormat;
use ndm_core::ModelState;
use ndm_plugin::editor::browser::{BrowseMode, AUDIO_EXTENSIONS};
use ndm_plugin::editor::export::{ExportSettings, Scope};
use ndm_plugin::editor::files::{Purpose, DIALOG_ENV};
use ndm_plugin::editor::EditorApp;
use ndm_plugin::NeuralDrumMachine;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn wait_until(what: &str, f: impl FnMut() -> bool) {
    common::wait_until_within(what, Duration::from_secs(30), f);
}

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/recordings")
}

fn v2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tiny_model_v2")
}

/// Chooses `name` inside `dir` in the open in-editor browser and confirms, as a user clicks.
fn choose(app: &mut EditorApp, dir: &Path, name: Option<&str>) -> (Purpose, PathBuf) {
    let b = app.dialogs.browser_mut().expect("the in-editor browser is open (no portal here)");
    b.open_dir(dir);
    assert!(b.error.is_none(), "{:?}", b.error);
    if let Some(name) = name {
        assert!(b.entries().iter().any(|e| e.name == name), "{name} is listed in {}", dir.display());
        assert!(b.activate(name));
    }
    app.dialogs.confirm_browser().expect("a valid choice")
}

#[test]
fn dialog_fallback_encodes_and_exports_and_the_model_chooser_switches_and_is_remembered() {
    let config = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_CONFIG_HOME", config.path());
    std::env::set_var("XDG_DATA_HOME", config.path().join("data"));
    std::env::remove_var(DIALOG_ENV);
    std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, tiny_model_dir());

    let mut plugin = NeuralDrumMachine::default();
    assert!(plugin.prepare(48_000.0, false), "activation timed out");
    let link = plugin.editor_link();
    let mut app = EditorApp::new(link.clone());

    // 1. Load sample…: the browser lists audio files only; the chosen one is encoded onto pad 4.
    app.dialogs.open(Purpose::LoadSample { pad: 3 }, BrowseMode::OpenFile { extensions: AUDIO_EXTENSIONS }, "Load", false);
    let names: Vec<String> = {
        let b = app.dialogs.browser_mut().unwrap();
        b.open_dir(&recordings());
        b.entries().iter().map(|e| e.name.clone()).collect()
    };
    assert!(!names.iter().any(|n| n.ends_with(".md")), "README.md is filtered out: {names:?}");
    let (purpose, path) = choose(&mut app, &recordings(), Some("elec_lo_snare.flac"));
    assert_eq!(purpose, Purpose::LoadSample { pad: 3 });
    app.on_chosen(purpose, &path).unwrap();
    wait_until("the sample is encoded for pad 4", || link.status.lock().encoded.as_ref().is_some_and(|e| e.pad == 3 && e.sample_name == "elec_lo_snare.flac"));
    assert!(app.dialogs.settings.recent_places.contains(&recordings()), "the folder is a recent place");

    // 2. Export the kit as SFZ into a chosen folder.
    let out = tempfile::tempdir().unwrap();
    app.export = ExportSettings { scope: Scope::Kit, format: KitFormat::Sfz, name: "My kit".into(), ..Default::default() };
    app.dialogs.open(Purpose::Export, BrowseMode::PickFolder, "Export", false);
    let (purpose, dir) = choose(&mut app, out.path(), None);
    app.on_chosen(purpose, &dir).unwrap();
    let files = app.finish_export(Duration::from_secs(30)).expect("export finished").expect("export succeeded");
    assert_eq!(files.len(), 17, "16 WAVs + the SFZ: {files:?}");
    let sfz = std::fs::read_to_string(out.path().join("My_kit.sfz")).or_else(|_| std::fs::read_to_string(files.last().unwrap())).unwrap();
    assert_eq!(sfz.matches("<region>").count(), 16);
    // The pad's WAV at the model rate is the pad's sound, sample for sample.
    let kick = files.iter().find(|p| p.to_string_lossy().contains("01_")).unwrap();
    let mut r = hound::WavReader::open(kick).unwrap();
    let stored = link.status.lock().pads[0].audio.as_ref().unwrap().1.clone();
    assert_eq!(r.spec().sample_rate, stored.sample_rate);
    let got: Vec<i32> = r.samples::<i32>().map(|s| s.unwrap()).collect();
    assert_eq!(got, stored.pcm.iter().map(|&s| i32::from(s) << 8).collect::<Vec<_>>());
    // Again into the same folder: nothing is replaced until the user says so.
    let before = std::fs::metadata(kick).unwrap().modified().unwrap();
    app.on_chosen(Purpose::Export, out.path()).unwrap();
    assert_eq!(app.pending_overwrite().map(|f| f.len()), Some(17));
    assert!(app.finish_export(Duration::from_millis(200)).is_none(), "nothing runs before the answer");
    app.confirm_overwrite(false);
    assert_eq!(std::fs::metadata(kick).unwrap().modified().unwrap(), before);
    app.on_chosen(Purpose::Export, out.path()).unwrap();
    app.confirm_overwrite(true);
    assert_eq!(app.finish_export(Duration::from_secs(30)).unwrap().unwrap().len(), 17);

    // 3. Models: a folder with another model is added, switched to, and every pad is made by it.
    let models = tempfile::tempdir().unwrap();
    let v2 = models.path().join("tiny-v2");
    std::fs::create_dir_all(&v2).unwrap();
    for f in ndm_core::model::FILES {
        std::fs::copy(v2_dir().join(f), v2.join(f)).unwrap();
    }
    app.dialogs.open(Purpose::AddModelFolder, BrowseMode::PickFolder, "Add", false);
    let (purpose, dir) = choose(&mut app, models.path(), None);
    app.on_chosen(purpose, &dir).unwrap();
    assert_eq!(ndm_plugin::models::Settings::load().model_folders, vec![models.path().to_path_buf()], "saved in the user settings");
    let catalog = ndm_plugin::models::scan(&app.dialogs.settings);
    let info = catalog.models.iter().find(|m| m.location == ModelLocation::Dir(v2.clone())).expect("the added model is listed").clone();
    assert_eq!(info.sample_rate, 44_100);
    assert!(ndm_plugin::editor::chooser::switch_to(&link, &info));
    // Its classes are kick, snare, hihat_closed (slots 1–3): the pads on those slots are made
    // again by it; the others say their class is not in the model and keep their sounds.
    let playable: Vec<usize> = (0..16).filter(|&p| link.params.pad(p).class.value() < 3).collect();
    assert_eq!(playable, [0, 1, 2]);
    wait_until("the pads on its classes are made by the new model", || {
        let st = link.status.lock();
        matches!(&st.model, ModelState::Ready { hash, .. } if *hash == info.hash)
            && playable.iter().all(|&p| st.pads[p].audio.as_ref().is_some_and(|(_, a)| a.sample_rate == 44_100))
            && st.pads[3].error.is_some()
    });
    {
        let st = link.status.lock();
        let e = st.pads[3].error.as_deref().unwrap();
        assert!(e.contains("class 9 is not in model") && e.contains("keeps its sound"), "{e}");
        assert_eq!(st.pads[3].audio.as_ref().unwrap().1.sample_rate, 16_000, "pad 4 keeps its sound");
    }
    assert_eq!(link.params.classes.label(2), "Hihat closed", "the class selectors list the model's classes");
    let saved = link.params.state.json();

    // 4. A new instance without $NDM_MODEL_DIR finds the project's model by its hash.
    std::env::remove_var(ndm_plugin::MODEL_DIR_ENV);
    let mut again = NeuralDrumMachine::default();
    again.shared_params().state.load_json(&saved);
    assert!(again.prepare(48_000.0, false));
    wait_until("the project's model is loaded", || {
        matches!(&again.engine().status().lock().model, ModelState::Ready { hash, .. } if *hash == info.hash)
    });
    assert!(again.shared_params().state.missing_model().is_none());

    // 5. Without that model installed, the project says which model it wants and plays its sounds.
    drop(models);
    let mut orphan = NeuralDrumMachine::default();
    orphan.shared_params().state.load_json(&saved);
    assert!(orphan.prepare(48_000.0, false));
    let missing = orphan.shared_params().state.missing_model().expect("the missing model is reported");
    assert!(missing.contains(&info.name) && missing.contains(&info.hash), "{missing}");
    let st = orphan.engine().status().lock();
    assert!(st.pads.iter().all(|p| p.audio.is_some()), "stored sounds play");
    assert_eq!(st.pads[0].audio.as_ref().unwrap().1.sample_rate, 44_100, "the stored sound, not a new one");
}
