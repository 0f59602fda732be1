//! Every code a run can stop with (`RunErrorCode`, the only type a report's `error.code` can
//! hold) is documented for its readers: in the README's "Run errors" table and in
//! `js/index.d.ts`, both in the `RunErrorCode` union and in the doc comment above it. And
//! the documents name no code the engine cannot emit.

use learner_sync::sync::RunErrorCode;

const README: &str = include_str!("../README.md");
const TYPES: &str = include_str!("../js/index.d.ts");

/// The README's "Run errors" section.
fn readme_section() -> &'static str {
    let start = README.find("### Run errors").expect("the README has a Run errors section");
    let rest = &README[start + 1..];
    let end = rest.find("\n#").map_or(rest.len(), |i| i + 1);
    &README[start..start + end]
}

/// The `RunErrorCode` type of `js/index.d.ts` and the doc comment just above it.
fn types_declaration() -> (&'static str, &'static str) {
    let at = TYPES.find("export type RunErrorCode").expect("index.d.ts declares RunErrorCode");
    let doc_start = TYPES[..at].rfind("/**").expect("RunErrorCode has a doc comment");
    let end = at + TYPES[at..].find(';').expect("the type ends");
    (&TYPES[doc_start..at], &TYPES[at..end])
}

/// The quoted or backticked codes (`SCREAMING_SNAKE_CASE`) a text names.
fn codes_in(text: &str, quote: char) -> Vec<String> {
    text.split(quote)
        .skip(1)
        .step_by(2)
        .filter(|w| w.len() > 2 && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_run_error_code_is_documented_in_the_readme_and_the_types() {
    let readme = readme_section();
    let (doc, union) = types_declaration();
    for code in RunErrorCode::ALL {
        let c = code.as_str();
        assert!(readme.contains(&format!("| `{c}` |")), "README's Run errors table lacks {c}");
        assert!(union.contains(&format!("'{c}'")), "index.d.ts RunErrorCode lacks '{c}'");
        assert!(doc.contains(&format!("`{c}`")), "index.d.ts RunErrorCode's doc comment lacks {c}");
    }
}

#[test]
fn the_documents_name_no_run_error_code_the_engine_cannot_emit() {
    let known: Vec<&str> = RunErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let (_, union) = types_declaration();
    for c in codes_in(union, '\'') {
        assert!(known.contains(&c.as_str()), "index.d.ts RunErrorCode names {c}, which no run emits");
    }
    let table: String = readme_section().lines().filter(|l| l.starts_with("| `")).collect::<Vec<_>>().join("\n");
    for c in codes_in(&table, '`').into_iter().filter(|c| table.contains(&format!("| `{c}` |"))) {
        assert!(known.contains(&c.as_str()), "the README's Run errors table names {c}, which no run emits");
    }
}
