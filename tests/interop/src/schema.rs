//! The JSON Schemas of `schemas/` applied to real documents with a real validator (Python's
//! jsonschema, Debian's `python3-jsonschema`, draft 2020-12), for every suite that runs a
//! command printing or writing a versioned document: a document of kind `K` must follow
//! `schemas/dane-K.schema.json`. The schemas are closed (`additionalProperties: false`), so
//! a field added to an output but not to its schema fails the suite that produced it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{Run, require_tool, run_command};

/// The `schemas/` directory of the workspace.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// One document to check: its kind (`verify`, `rollover-status`, ...), where it came from
/// (the command line, a file name: shown with each error) and its JSON text.
#[derive(Debug, Clone)]
pub struct SchemaDoc {
    /// The schema's name: `schemas/dane-KIND.schema.json`.
    pub kind: String,
    /// Where the document came from.
    pub origin: String,
    /// The document.
    pub json: String,
}

impl SchemaDoc {
    /// A document of `kind` from `origin`.
    pub fn new(kind: &str, origin: impl Into<String>, json: impl Into<String>) -> SchemaDoc {
        SchemaDoc {
            kind: kind.to_owned(),
            origin: origin.into(),
            json: json.into(),
        }
    }
}

/// Python 3 with the jsonschema module (Debian's first). Missing: under CI a panic, else a
/// notice and `None` (see [`require_tool`]).
pub fn validator() -> Option<PathBuf> {
    for python in ["/usr/bin/python3", "python3"] {
        let mut cmd = Command::new(python);
        cmd.args(["-c", "import jsonschema; jsonschema.Draft202012Validator"]);
        if run_command(cmd, None).code == 0 {
            return Some(python.into());
        }
    }
    require_tool("jsonschema-python3", "python3-jsonschema")
}

const CHECK: &str = r#"
import glob, json, os, sys
import jsonschema
schemas, dir = sys.argv[1], sys.argv[2]
n = bad = 0
for path in sorted(glob.glob(os.path.join(dir, "*.json"))):
    kind = os.path.basename(path).split("@")[0]
    with open(os.path.join(schemas, "dane-%s.schema.json" % kind)) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    with open(path) as f:
        doc = json.load(f)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    where = open(path[:-5] + ".origin").read()
    for e in errors[:3]:
        print("%s (%s): %s at /%s" % (where, kind, e.message, "/".join(map(str, e.absolute_path))), file=sys.stderr)
    bad += bool(errors)
    n += 1
print("%d documents valid" % n if not bad else "%d of %d invalid" % (bad, n))
sys.exit(1 if bad else 0)
"#;

/// Validates `docs` with `python` in one run: exit 0 and `N documents valid` on stdout when
/// every one follows its schema; otherwise each invalid one's first errors on stderr, with
/// its origin and the failing field.
#[allow(clippy::expect_used)] // test support: an unwritable temp dir is a failed test
pub fn validate(python: &Path, docs: &[SchemaDoc]) -> Run {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dane-schema-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the temporary directory");
    for (i, d) in docs.iter().enumerate() {
        let stem = dir.join(format!("{}@{i:05}", d.kind));
        std::fs::write(stem.with_extension("json"), &d.json).expect("write a document");
        std::fs::write(stem.with_extension("origin"), &d.origin).expect("write its origin");
    }
    let mut cmd = Command::new(python);
    cmd.args(["-c", CHECK]).arg(schema_dir()).arg(&dir);
    let out = run_command(cmd, None);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Panics unless every document follows its schema; skips (outside CI) without a validator.
pub fn assert_valid(docs: &[SchemaDoc]) {
    assert!(!docs.is_empty(), "no documents to validate");
    let Some(python) = validator() else {
        return;
    };
    let out = validate(&python, docs);
    assert_eq!(
        out.code, 0,
        "documents that do not follow their JSON Schema:\n{}{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        out.stdout.trim(),
        format!("{} documents valid", docs.len()),
        "{}",
        out.stderr
    );
}

/// [`assert_valid`] for one document.
pub fn assert_valid_one(kind: &str, origin: impl Into<String>, json: &str) {
    assert_valid(&[SchemaDoc::new(kind, origin, json)]);
}
