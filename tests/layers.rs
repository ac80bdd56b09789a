//! The tree is the documentation, and this test keeps it so:
//!
//! * the library's top-level modules form layers, and a module refers only to modules of
//!   lower layers ([`LAYERS`]) — never sideways, never up;
//! * no file refers, directly or through others, back to itself (no import cycle) — a
//!   module's own `mod.rs` declaring and re-exporting its children aside;
//! * no source file is longer than [`MAX_LINES`] lines.
//!
//! References are the paths written in the code: `crate::…`, `super::…` and `self::…`,
//! in `use` trees and inline, test modules included (comments and string literals
//! skipped). Each path is resolved to the deepest file module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may use the modules of the layers before its own.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["events", "par"],
    &["io", "dsp"],
    &["detect", "sim"],
    &["score"],
    &["report"],
    &["pipeline"],
    &["compare"],
];

/// Longest a source file may be, lines (tests included).
const MAX_LINES: usize = 800;

/// A module path: `["io", "csv", "source"]`; the crate root is empty.
type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library file (not the binary's), by module path.
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    let mut out = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src()).unwrap().with_extension("");
        let mut parts: Module = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts[0] == "bin" {
            continue;
        }
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        out.insert(parts, file);
    }
    out
}

/// `code` without comments and with string and character literals emptied.
fn strip(code: &str) -> String {
    let b = code.as_bytes();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A character literal ('x', '\n'); lifetimes ('a) are left alone.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            let c = code[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The paths of the `use` trees in `code`, each as its segments (`a::{b, c::d}` gives
/// `a::b` and `a::c::d`) with the offset of its `use`.
fn use_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(prefix, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(prefix, &inner[start..], out);
        } else if let Some(i) = tree.find("::{") {
            let mut p = prefix.to_vec();
            p.extend(tree[..i].split("::").map(|s| s.trim().to_owned()));
            expand(&p, &tree[i + 2..], out);
        } else if !tree.is_empty() {
            let name = tree.split(" as ").next().unwrap_or(tree);
            let mut p = prefix.to_vec();
            p.extend(name.split("::").map(|s| s.trim().to_owned()));
            out.push(p);
        }
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find_word(&code[from..], "use") {
        let start = from + at + 3;
        let end = code[start..].find(';').map_or(code.len(), |e| start + e);
        let mut paths = Vec::new();
        expand(&[], &code[start..end], &mut paths);
        out.extend(paths.into_iter().map(|p| (start, p)));
        from = end;
    }
    out
}

/// The inline modules of `code` (`mod tests { … }`): each one's name and the bytes it
/// spans.
fn inline_modules(code: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find_word(&code[from..], "mod") {
        let start = from + at + 3;
        from = start;
        let rest = &code[start..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after_name = rest.trim_start()[name.len()..].trim_start();
        if name.is_empty() || !after_name.starts_with('{') {
            continue;
        }
        let open = code.len() - after_name.len();
        let mut depth = 0usize;
        let mut end = code.len();
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((name, open..end));
    }
    out
}

/// The first place `word` stands as a whole word in `code`.
fn find_word(code: &str, word: &str) -> Option<usize> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut from = 0;
    while let Some(p) = code[from..].find(word) {
        let at = from + p;
        let before = at == 0 || !ident(b[at - 1]);
        let after = b.get(at + word.len()).is_none_or(|&c| !ident(c));
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// The inline paths starting `crate::`, `super::` or `self::` in `code`, with their
/// offsets.
fn inline_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    for head in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(p) = code[from..].find(head) {
            let at = from + p;
            from = at + head.len();
            if at > 0 && (ident(b[at - 1]) || b[at - 1] == b':') {
                continue;
            }
            let mut end = at;
            while end < b.len() && (ident(b[end]) || code[end..].starts_with("::")) {
                end += if b[end] == b':' { 2 } else { 1 };
            }
            let path: Vec<String> = code[at..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            out.push((at, path));
        }
    }
    out
}

/// The deepest file module `path`, written in the module `from`, names.
fn resolve(from: &Module, path: &[String], modules: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let (mut base, mut rest) = (from.clone(), path);
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some("self") => rest = &rest[1..],
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    (0..=base.len())
        .rev()
        .map(|k| base[..k].to_vec())
        .find(|m| modules.contains_key(m))
}

/// The module → modules graph of the library.
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, file) in &modules {
        let code = strip(&std::fs::read_to_string(file).unwrap());
        let inline = inline_modules(&code);
        let paths = use_paths(&code).into_iter().chain(inline_paths(&code));
        for (at, path) in paths {
            // Inside `mod tests { … }`, `super` is the file's own module.
            let mut here = module.clone();
            here.extend(
                inline
                    .iter()
                    .filter(|(_, span)| span.contains(&at))
                    .map(|(name, _)| name.clone()),
            );
            if let Some(target) = resolve(&here, &path, &modules) {
                if &target != module {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    edges
}

fn layer(top: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| panic!("top-level module `{top}` is in no layer of LAYERS"))
}

#[test]
fn modules_only_use_lower_layers() {
    let mut wrong = Vec::new();
    for (from, targets) in graph() {
        // The crate root declares the modules and re-exports what callers need.
        let Some(top) = from.first() else { continue };
        for target in targets {
            let Some(other) = target.first() else {
                wrong.push(format!("{} uses the crate root", from.join("::")));
                continue;
            };
            if other != top && layer(other) >= layer(top) {
                wrong.push(format!(
                    "{} uses {} (layer {} → layer {})",
                    from.join("::"),
                    target.join("::"),
                    layer(top),
                    layer(other)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "edges that do not point down:\n{}",
        wrong.join("\n")
    );
}

/// The state of Tarjan's search for strongly connected components.
struct State<'g> {
    graph: &'g BTreeMap<Module, Vec<Module>>,
    index: BTreeMap<&'g Module, usize>,
    low: BTreeMap<&'g Module, usize>,
    stack: Vec<&'g Module>,
    cycles: Vec<Vec<String>>,
}
/// Tarjan's visit of `v`: its component, when it closes one, joins `cycles` if it holds
/// two files or more.
fn visit<'g>(s: &mut State<'g>, v: &'g Module) {
    let i = s.index.len();
    s.index.insert(v, i);
    s.low.insert(v, i);
    s.stack.push(v);
    for w in s.graph.get(v).into_iter().flatten() {
        if !s.index.contains_key(w) {
            visit(s, w);
            let lw = s.low[w];
            let lv = s.low.get_mut(v).unwrap();
            *lv = (*lv).min(lw);
        } else if s.stack.contains(&w) {
            let iw = s.index[w];
            let lv = s.low.get_mut(v).unwrap();
            *lv = (*lv).min(iw);
        }
    }
    if s.low[v] == s.index[v] {
        let mut component = Vec::new();
        while let Some(w) = s.stack.pop() {
            component.push(w.join("::"));
            if w == v {
                break;
            }
        }
        if component.len() > 1 {
            s.cycles.push(component);
        }
    }
}

#[test]
fn no_file_uses_itself_through_others() {
    // A module's own file declaring (and re-exporting) its children is not a use.
    let is_child =
        |parent: &Module, m: &Module| m.len() == parent.len() + 1 && m.starts_with(parent);
    let graph: BTreeMap<Module, Vec<Module>> = graph()
        .into_iter()
        .map(|(from, to)| {
            let to = to.into_iter().filter(|t| !is_child(&from, t)).collect();
            (from, to)
        })
        .collect();
    // Tarjan's strongly connected components: any with two files or more is a cycle.
    let mut state = State {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        cycles: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    assert!(state.cycles.is_empty(), "import cycles: {:?}", state.cycles);
}

#[test]
fn no_source_file_is_over_the_limit() {
    fn walk(dir: &Path, long: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, long);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > MAX_LINES {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    let mut long = Vec::new();
    for dir in ["src", "tests", "benches"] {
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut long);
    }
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

/// The checker finds what it is meant to find, on made-up code.
#[test]
fn paths_are_found_in_use_trees_and_inline() {
    let code = strip(
        "use crate::io::{csv::source::{open, Body}, names};\nuse super::x as y; // crate::not\n\
         fn f() { crate::dsp::smooth::f(\"crate::no\"); let c = 'a'; }",
    );
    let uses: Vec<String> = use_paths(&code)
        .into_iter()
        .map(|(_, p)| p.join("::"))
        .collect();
    assert!(uses.contains(&"crate::io::csv::source::open".to_owned()));
    assert!(uses.contains(&"crate::io::names".to_owned()));
    assert!(uses.contains(&"super::x".to_owned()));
    let inline: Vec<String> = inline_paths(&code)
        .into_iter()
        .map(|(_, p)| p.join("::"))
        .collect();
    assert!(inline.contains(&"crate::dsp::smooth::f".to_owned()));
    assert!(
        !inline
            .iter()
            .any(|p| p.ends_with("::not") || p.ends_with("::no"))
    );
    let tests = inline_modules(
        "fn a() {}\nmod tests {\n    use super::*;\n    fn b() { {} }\n}\nmod other;",
    );
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].0, "tests");
    let modules: BTreeMap<Module, PathBuf> =
        [vec![], vec!["io".into()], vec!["io".into(), "csv".into()]]
            .into_iter()
            .map(|m| (m, PathBuf::new()))
            .collect();
    let from: Module = vec!["io".into(), "csv".into()];
    let up = resolve(&from, &["super".into(), "names".into()], &modules);
    assert_eq!(up, Some(vec!["io".into()]));
}
