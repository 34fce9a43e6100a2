//! The layers hold, in the server, the agent and the HTTP layer: no file names another that
//! names it back (directly or round a longer loop), and each server module imports only the
//! layers below it (ARCHITECTURE.md, "Layers").
//!
//! A file "names" another when it says `use crate::…`, `use super::…` or a `crate::…` path in
//! its code; the path is followed through the modules to the file that defines it. Comments,
//! strings and `#[cfg(test)]` items do not count: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each server layer may import besides itself. A module missing here fails the test: a
/// new one needs its place first.
const SERVER_LAYERS: &[(&str, &[&str])] = &[
    // The binary: flags, start, shutdown.
    (
        "main",
        &[
            "app",
            "config",
            "clock",
            "web",
            "poller",
            "maintenance",
            "commands",
        ],
    ),
    // The callers of the domain: HTTP, the offline commands and the background loops.
    ("web", &["app", "domain", "model", "clock"]),
    ("commands", &["app", "domain", "model", "clock", "config"]),
    ("poller", &["app", "domain", "model", "clock", "agents"]),
    ("maintenance", &["app", "domain", "clock"]),
    // Simulated machines for the examples and benchmarks.
    ("sim", &["model", "store", "agents", "clock"]),
    // The App: builds the services once.
    (
        "app",
        &[
            "domain", "config", "store", "alerts", "agents", "live", "clock", "model",
        ],
    ),
    // Flags and environment.
    ("config", &["model", "auth"]),
    // One service per noun: the only callers of what is below.
    (
        "domain",
        &[
            "store", "alerts", "agents", "live", "auth", "config", "model", "clock",
        ],
    ),
    // What the domain stands on.
    ("alerts", &["store", "model", "clock", "tls"]),
    ("store", &["model", "clock"]),
    ("live", &["agents", "model"]),
    ("agents", &["model", "tls"]),
    ("auth", &["clock"]),
    // The ground: plain types and the time.
    ("model", &[]),
    ("clock", &[]),
    ("tls", &[]),
];

fn crate_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_file_of_the_three_crates_names_one_that_names_it_back() {
    for name in ["server", "agent", "http"] {
        let tree = Tree::read(&crate_dir(name));
        let loops = tree.loops();
        assert!(
            loops.is_empty(),
            "{name}/src has files that import each other: {loops:?}"
        );
    }
}

#[test]
fn each_server_layer_imports_only_the_layers_below() {
    let tree = Tree::read(&crate_dir("server"));
    let wrong = tree.outside_layers(SERVER_LAYERS);
    assert!(
        wrong.is_empty(),
        "imports that cross the layers the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_web_layer_reaches_the_store_only_through_the_domain() {
    // Checked by the table above, and said here on its own because it is the rule the rest
    // leans on: a handler that wrote SQL itself would skip the domain's checks.
    let tree = Tree::read(&crate_dir("server"));
    for (from, to) in tree.edges() {
        if layer_of(&from) == "web" {
            assert!(
                !["store", "alerts", "agents", "live", "auth"].contains(&layer_of(&to)),
                "{from} imports {to}"
            );
        }
    }
}

#[test]
fn no_public_signature_gives_its_error_as_a_bare_string() {
    // Errors across a module boundary are types a caller can match on. The integration tests'
    // helpers (`testkit*.rs`, behind a feature) are not the library's API.
    let mut found = Vec::new();
    for name in ["server", "agent", "http"] {
        let tree = Tree::read(&crate_dir(name));
        for (file, code) in &tree.files {
            if !file.starts_with("testkit") {
                found.extend(
                    string_errors(code)
                        .into_iter()
                        .map(|s| format!("{name}/src/{file}: {s}")),
                );
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

// --- The checker checked: it finds what it is there to find. -----------------------------

#[test]
fn the_checker_sees_a_loop_through_a_grouped_import_and_a_path_in_code() {
    let dir = scratch("loop");
    write(
        &dir,
        &[
            ("lib.rs", "pub mod a;\npub mod b;\npub use a::A;\n"),
            ("a.rs", "use crate::{b::{self, B}};\npub struct A;\n"),
            ("b.rs", "pub struct B;\nfn f() { let _ = crate::a::A; }\n"),
        ],
    );
    let loops = Tree::read(&dir).loops();
    assert_eq!(loops, vec![vec!["a.rs".to_string(), "b.rs".to_string()]]);
    // The crate root's re-export closes a loop with a module that names the root.
    write(
        &dir,
        &[
            (
                "lib.rs",
                "pub mod a;\npub mod b;\npub use b::B;\npub struct Root;\n",
            ),
            ("b.rs", "pub struct B;\nfn f() { let _ = crate::Root; }\n"),
            ("a.rs", "pub struct A;\nfn f() { let _ = crate::Root; }\n"),
        ],
    );
    let loops = Tree::read(&dir).loops();
    assert_eq!(loops, vec![vec!["b.rs".to_string(), "lib.rs".to_string()]]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_checker_ignores_comments_strings_and_tests() {
    let dir = scratch("quiet");
    let b = concat!(
        "/// See [`crate::a::A`].\npub struct B;\n",
        "// crate::a::A\nconst S: &str = \"crate::a::A\";\nconst R: &str = r#\"crate::a\"#;\n",
        "const C: char = '\"'; fn g<'a>(x: &'a str) -> &'a str { x }\n",
        "#[cfg(test)]\nmod tests {\n    use crate::a::A;\n    fn t() { let _ = A; }\n}\n",
        "#[cfg(all(test, target_os = \"linux\"))]\nmod linux_tests {\n    use crate::a::A;\n}\n",
    );
    write(
        &dir,
        &[
            ("lib.rs", "pub mod a;\npub mod b;\npub use a::A;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", b),
        ],
    );
    assert!(Tree::read(&dir).loops().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_checker_follows_super_into_folders_and_reports_a_web_file_that_imports_the_store() {
    let dir = scratch("layers");
    write(
        &dir,
        &[
            ("lib.rs", "pub mod web;\npub mod store;\npub mod domain;\n"),
            ("web/mod.rs", "mod pages;\npub struct Web;\n"),
            (
                "web/pages.rs",
                "use super::Web;\nuse crate::domain::Thing;\n",
            ),
            ("domain/mod.rs", "pub struct Thing;\n"),
            ("store/mod.rs", "pub struct Store;\n"),
        ],
    );
    let rules: &[(&str, &[&str])] = &[
        ("web", &["domain"]),
        ("domain", &["store"]),
        ("store", &[]),
        ("app", &["web", "store", "domain"]),
    ];
    let tree = Tree::read(&dir);
    assert!(
        tree.edges()
            .contains(&("web/pages.rs".into(), "web/mod.rs".into()))
    );
    assert!(tree.outside_layers(rules).is_empty());
    write(
        &dir,
        &[(
            "web/pages.rs",
            "use super::Web;\nfn f() { let _ = crate::store::Store; }\n",
        )],
    );
    assert_eq!(
        Tree::read(&dir).outside_layers(rules),
        vec!["web/pages.rs (web) imports store/mod.rs (store)".to_string()]
    );
    // A module with no place in the table is reported too.
    write(&dir, &[("extra.rs", "pub struct E;\n")]);
    assert!(
        Tree::read(&dir)
            .outside_layers(rules)
            .iter()
            .any(|w| w.contains("extra.rs") && w.contains("no place"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_checker_sees_string_errors_in_public_signatures_only() {
    let code = code_only(concat!(
        "pub fn a(x: u8) -> Result<u8, String> { todo!() }\n",
        "pub fn b() -> std::result::Result<(), (Status, String)>;\n",
        "pub type Answer = Result<Info, &'static str>;\n",
        "fn private() -> Result<(), String> { todo!() }\n",
        "pub(crate) fn inside() -> Result<(), String> { todo!() }\n",
        "pub fn fine() -> Result<(User, String)> { todo!() }\n",
        "pub fn fine_too() -> Result<String, Error> { todo!() }\n",
    ));
    let found = string_errors(&code);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("pub fn a"));
    assert!(found[1].starts_with("pub fn b"));
    assert!(found[2].starts_with("pub type Answer"));
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lanstat-layers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes each `(path, text)` of `files` under `dir`, over what is there.
fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

// --- The checker. -------------------------------------------------------------------------

/// A crate's source files (paths relative to its `src/`, with `/`), each as code only.
struct Tree {
    files: BTreeMap<String, String>,
}

impl Tree {
    fn read(src: &Path) -> Tree {
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel = path.strip_prefix(src).unwrap().to_string_lossy();
                    let text = std::fs::read_to_string(&path).unwrap();
                    files.insert(rel.replace('\\', "/"), without_tests(&code_only(&text)));
                }
            }
        }
        assert!(
            files.contains_key("lib.rs"),
            "{} has no lib.rs",
            src.display()
        );
        Tree { files }
    }

    /// The file that defines the module at `path` (`[]` is the crate root), if there is one.
    fn file_of(&self, path: &[String]) -> Option<String> {
        if path.is_empty() {
            return Some("lib.rs".into());
        }
        let joined = path.join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|f| self.files.contains_key(f))
    }

    /// Every `(file, file it names)`, the binary's `main.rs` (a crate of its own) left out.
    fn edges(&self) -> BTreeSet<(String, String)> {
        let mut edges = BTreeSet::new();
        for (file, code) in &self.files {
            if file == "main.rs" {
                continue;
            }
            let (uses, inline) = named_paths(code);
            for path in uses.iter().chain(&inline) {
                if let Some(to) = self.resolve(file, path, 0)
                    && &to != file
                {
                    edges.insert((file.clone(), to));
                }
            }
        }
        edges
    }

    /// The file that defines what `path`, named in `file`, names. An item a folder's `mod.rs`
    /// only re-exports is followed to where it is defined.
    fn resolve(&self, file: &str, path: &[String], depth: usize) -> Option<String> {
        let module = module_of(file);
        let mut at = start_of(&module, path).or_else(|| {
            // A path relative to this module: `use child::Item`.
            let mut child = module.clone();
            child.push(path.first()?.clone());
            self.file_of(&child).map(|_| module.clone())
        })?;
        let mut rest = path
            .iter()
            .skip_while(|s| matches!(s.as_str(), "crate" | "super" | "self"))
            .peekable();
        while let Some(seg) = rest.peek() {
            let mut deeper = at.clone();
            deeper.push((*seg).clone());
            if self.file_of(&deeper).is_none() {
                break;
            }
            at = deeper;
            rest.next();
        }
        let to = self.file_of(&at)?;
        if let Some(item) = rest.next()
            && depth < 8
            && to != file
        {
            let (uses, _) = named_paths(&self.files[&to]);
            if let Some(defined) = uses
                .iter()
                .filter(|u| u.last() == Some(item))
                .find_map(|u| self.resolve(&to, u, depth + 1))
            {
                return Some(defined);
            }
        }
        Some(to)
    }

    /// Groups of files that import each other, each sorted, smallest file name first.
    fn loops(&self) -> Vec<Vec<String>> {
        let edges = self.edges();
        let reach = |from: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.clone()];
            while let Some(f) = todo.pop() {
                for (a, b) in &edges {
                    if *a == f && seen.insert(b.clone()) {
                        todo.push(b.clone());
                    }
                }
            }
            seen
        };
        let reached: BTreeMap<&String, BTreeSet<String>> =
            self.files.keys().map(|f| (f, reach(f))).collect();
        let mut loops: BTreeSet<Vec<String>> = BTreeSet::new();
        for (f, from_f) in &reached {
            if !from_f.contains(*f) {
                continue;
            }
            let group: Vec<String> = from_f
                .iter()
                .filter(|g| reached[g].contains(*f))
                .cloned()
                .collect();
            loops.insert(group);
        }
        loops.into_iter().collect()
    }

    /// Each import that `rules` does not allow, in words; and each file whose layer has no rule.
    fn outside_layers(&self, rules: &[(&str, &[&str])]) -> Vec<String> {
        let allowed = |from: &str, to: &str| {
            from == to
                || rules
                    .iter()
                    .any(|(layer, below)| *layer == from && below.contains(&to))
        };
        let mut wrong = Vec::new();
        for file in self.files.keys() {
            let layer = layer_of(file);
            if !rules.iter().any(|(l, _)| *l == layer) {
                wrong.push(format!("{file} ({layer}) has no place in the layers"));
            }
        }
        for (from, to) in self.edges() {
            let (a, b) = (layer_of(&from), layer_of(&to));
            if !allowed(a, b) {
                wrong.push(format!("{from} ({a}) imports {to} ({b})"));
            }
        }
        wrong
    }
}

/// Public signatures (`pub fn`, `pub type`) whose `Result` carries its error as a `String`, a
/// `&str` or a tuple holding one: each cut to its signature.
fn string_errors(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for start in code.match_indices("pub ").map(|(i, _)| i) {
        let rest = &code[start + 4..];
        if !(rest.starts_with("fn ") || rest.starts_with("type ")) {
            continue;
        }
        let end = rest.find(['{', ';']).unwrap_or(rest.len());
        let sig = &code[start..start + 4 + end];
        let Some(r) = sig.find("Result<") else {
            continue;
        };
        // The last top-level argument of `Result<…>`: its error type, when it has two.
        let inner = &sig[r + 7..];
        let mut depth = 0;
        let mut args = vec![String::new()];
        for c in inner.chars() {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' if depth == 0 => break,
                '>' | ')' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(String::new());
                    continue;
                }
                _ => {}
            }
            args.last_mut().unwrap().push(c);
        }
        if args.len() < 2 {
            continue;
        }
        let err = args.last().unwrap();
        let words: Vec<&str> = err
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        if words.contains(&"String") || words.contains(&"str") {
            found.push(sig.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    found
}

/// The layer a file belongs to: its top folder or its name; the crate root is the `app`.
fn layer_of(file: &str) -> &str {
    match file {
        "lib.rs" => "app",
        f => f.split('/').next().unwrap().trim_end_matches(".rs"),
    }
}

/// `web/alerts.rs` is `[web, alerts]`, `web/mod.rs` is `[web]`, `lib.rs` is `[]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Where a path starts: the root for `crate`, the parent module per `super`, this module for
/// `self`; `None` for a path into another crate.
fn start_of(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut at = module.to_vec();
    match path.first()?.as_str() {
        "crate" => return Some(Vec::new()),
        "self" => return Some(at),
        "super" => {}
        _ => return None,
    }
    for seg in path {
        if seg != "super" {
            break;
        }
        at.pop()?;
    }
    Some(at)
}

/// The paths the code names: each leaf of its `use` trees, and each path starting with
/// `crate`, `super` or `self` written in the code.
fn named_paths(code: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut uses = Vec::new();
    let mut paths = Vec::new();
    let mut rest = String::new();
    let mut i = 0;
    let bytes = code.as_bytes();
    while i < code.len() {
        if code[i..].starts_with("use ")
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            let end = code[i..].find(';').map_or(code.len(), |e| i + e);
            expand_use(&code[i + 4..end], &mut Vec::new(), &mut uses);
            i = end + 1;
            rest.push(' ');
            continue;
        }
        let c = code[i..].chars().next().unwrap();
        rest.push(c);
        i += c.len_utf8();
    }
    let words: Vec<&str> = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .collect();
    for w in words {
        let segs: Vec<String> = w
            .split("::")
            .take_while(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if segs.len() > 1 && matches!(segs[0].as_str(), "crate" | "super" | "self") {
            paths.push(segs);
        }
    }
    (uses, paths)
}

/// The leaves of a `use` tree (`a::{b, c::{d, self}}`), each prefixed with `prefix`.
fn expand_use(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let mut path = prefix.clone();
        for seg in tree.split("::").map(str::trim).filter(|s| !s.is_empty()) {
            let seg = seg.split_whitespace().next().unwrap_or(seg); // `x as y`
            if seg != "self" || path.is_empty() {
                path.push(seg.to_string());
            }
        }
        out.push(path);
        return;
    };
    let head: Vec<String> = tree[..open]
        .split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let depth_before = prefix.len();
    prefix.extend(head);
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_use(&inner[start..i], prefix, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand_use(&inner[start..], prefix, out);
    }
    prefix.truncate(depth_before);
}

/// The text with comments, string and character literals blanked out.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if chars[i] == 'r'
            && (chars.get(i + 1) == Some(&'"') || chars.get(i + 1) == Some(&'#'))
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            j += 1;
            while j < chars.len() && !at(j, &close) {
                j += 1;
            }
            i = j + close.chars().count();
            out.push_str("\"\"");
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if chars[i] == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'), else a lifetime ('a).
            if chars.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The code without the items under a `#[cfg(…)]` that needs `test`.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(") {
        let after = &rest[start..];
        let attr_end = after.find(']').map_or(after.len(), |e| e + 1);
        let attr = &after[..attr_end];
        let words: Vec<&str> = attr
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        if !words.contains(&"test") || words.contains(&"not") {
            out.push_str(&rest[..start + attr_end]);
            rest = &after[attr_end..];
            continue;
        }
        out.push_str(&rest[..start]);
        let semi = after.find(';');
        let brace = after.find('{');
        let end = match (semi, brace) {
            (Some(s), Some(b)) if s < b => s + 1,
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = after.len();
                for (i, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (Some(s), None) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
