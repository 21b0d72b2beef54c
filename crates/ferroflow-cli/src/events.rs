//! `ferroflow events`: the scalar series of a log directory, as TensorBoard's scalars dashboard shows
//! them.

use crate::cli::EventsArgs;
use crate::scalar_accumulator::{ScalarAccumulator, ScalarSeries};
use crate::tensor_json::float_json;
use crate::CliError;
use ferroflow_summary::read_events;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What one command run found: run name (`.` for LOGDIR itself) -> its series.
pub type Runs = BTreeMap<String, ScalarSeries>;

/// Runs the command, writing to `out` and warnings (a damaged file) to `err`.
///
/// # Errors
/// A usage error when LOGDIR is not a readable directory or holds no event files.
pub fn run(args: &EventsArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    let logdir = &args.logdir;
    let runs = if logdir.is_file() {
        BTreeMap::from([(".".to_string(), read_event_file(logdir)?)])
    } else if !logdir.is_dir() {
        return Err(CliError::usage(format!("{}: not a directory or an event file", logdir.display())));
    } else if args.runs {
        read_runs(logdir, err)?
    } else {
        let files = event_files(logdir)?;
        if files.is_empty() {
            let hint = if read_runs(logdir, &mut std::io::sink())?.is_empty() {
                String::new()
            } else {
                "; its subdirectories hold runs: pass --runs".to_string()
            };
            return Err(CliError::usage(format!("{}: no event files{hint}", logdir.display())));
        }
        BTreeMap::from([(".".to_string(), read_run(&files, err))])
    };
    if args.runs && runs.is_empty() {
        return Err(CliError::usage(format!("{}: no event files in it or below it", logdir.display())));
    }
    let written =
        if args.json { write_json(&runs, args.runs, out) } else { write_text(&runs, args.runs, out) };
    written.map_err(|e| CliError::failure(format!("writing the series: {e}")))
}

/// Every run under `logdir`: each directory (LOGDIR included, named `.`) that directly holds event files,
/// named by its path relative to LOGDIR, as TensorBoard names runs.
///
/// # Errors
/// A usage error when a directory cannot be listed.
pub fn read_runs(logdir: &Path, err: &mut dyn Write) -> Result<Runs, CliError> {
    let mut runs = Runs::new();
    let mut pending = vec![logdir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let files = event_files(&dir)?;
        if !files.is_empty() {
            let name = match dir.strip_prefix(logdir) {
                Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
                Ok(rel) => rel.to_string_lossy().into_owned(),
                Err(_) => dir.to_string_lossy().into_owned(),
            };
            runs.insert(name, read_run(&files, err));
        }
        pending.extend(subdirectories(&dir)?);
    }
    Ok(runs)
}

/// The scalars of one run's event files, read in name order (TensorBoard's order; names start with the
/// creation time). A damaged file is read up to the damage, with a warning on `err`.
pub fn read_run(files: &[PathBuf], err: &mut dyn Write) -> ScalarSeries {
    let mut acc = ScalarAccumulator::new();
    for file in files {
        let reader = match read_events(file) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "warning: skipping {}: {e}", file.display());
                continue;
            }
        };
        for event in reader {
            match event {
                Ok(event) => acc.add_event(&event),
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "warning: {}: stopped reading at a damaged record: {e}",
                        file.display()
                    );
                    break;
                }
            }
        }
    }
    acc.into_series()
}

/// One event file on its own, as TensorBoard's loaders (and `read_events.py`) accept. Unlike a file
/// among a directory's, a damaged record here is the user's input being wrong.
///
/// # Errors
/// A usage error when the file does not open or holds a record that is not an event.
pub fn read_event_file(path: &Path) -> Result<ScalarSeries, CliError> {
    let mut acc = ScalarAccumulator::new();
    let reader = read_events(path).map_err(|e| CliError::from_input(&e))?;
    for event in reader {
        acc.add_event(&event.map_err(|e| CliError::from_input(&e).context(path.display()))?);
    }
    Ok(acc.into_series())
}

/// The event files directly in `dir` (names containing `tfevents`, TensorBoard's test), sorted by name.
///
/// # Errors
/// A usage error when `dir` cannot be listed.
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut files: Vec<PathBuf> = entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().contains("tfevents")))
        .collect();
    files.sort();
    Ok(files)
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut dirs: Vec<PathBuf> =
        entries(dir)?.into_iter().filter(|p| p.is_dir() && !p.is_symlink()).collect();
    dirs.sort();
    Ok(dirs)
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let listing = std::fs::read_dir(dir).map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
    Ok(listing.filter_map(|entry| entry.ok().map(|e| e.path())).collect())
}

fn series_json(series: &ScalarSeries) -> Value {
    let mut tags = Map::new();
    for (tag, points) in series {
        let points = points.iter().map(|(step, v)| Value::Array(vec![Value::from(*step), float_json(*v)]));
        tags.insert(tag.clone(), Value::Array(points.collect()));
    }
    Value::Object(tags)
}

/// `{tag: [[step, value], ...]}`, or with `--runs` `{run: {tag: ...}}`.
fn write_json(runs: &Runs, by_run: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = if by_run {
        Value::Object(runs.iter().map(|(run, s)| (run.clone(), series_json(s))).collect())
    } else {
        runs.values().next().map_or_else(|| Value::Object(Map::new()), series_json)
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)
}

/// One block per tag: the tag and its point count, then `step value` lines.
fn write_text(runs: &Runs, by_run: bool, out: &mut dyn Write) -> std::io::Result<()> {
    for (run, series) in runs {
        if by_run {
            writeln!(out, "run {run}")?;
        }
        let indent = if by_run { "  " } else { "" };
        for (tag, points) in series {
            writeln!(out, "{indent}{tag} ({} points)", points.len())?;
            for (step, v) in points {
                writeln!(out, "{indent}  {step}\t{v}")?;
            }
        }
    }
    Ok(())
}
