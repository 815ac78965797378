//! The unified diff the tests print (the library's, `hostdev::render::diff`), and its tests.

pub use hostdev::render::diff::unified;

/// GNU `diff -u` would print the same hunks.
#[test]
fn diff_shows_only_the_changed_lines_with_context() {
    let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
    let new = old
        .replace("\n5\n", "\nfive\n")
        .replace("\n20\n", "\n20\n21\n");
    assert_eq!(
        unified("golden", "actual", &old, &new),
        "--- golden\n+++ actual\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n@@ -18,3 +18,4 @@\n 18\n 19\n 20\n+21\n"
    );
    // changes six unchanged lines apart share one hunk
    let near = old
        .replace("\n5\n", "\nfive\n")
        .replace("\n12\n", "\ntwelve\n");
    assert_eq!(
        unified("golden", "actual", &old, &near)
            .lines()
            .filter(|l| l.starts_with("@@"))
            .collect::<Vec<_>>(),
        ["@@ -2,14 +2,14 @@"]
    );
    assert_eq!(unified("x", "y", &old, &old), "");
}

#[test]
fn diff_marks_a_missing_final_newline_and_empty_sides() {
    assert_eq!(
        unified("a", "b", "x\n", "x"),
        "--- a\n+++ b\n@@ -1,1 +1,1 @@\n-x\n+x\n\\ No newline at end of file\n"
    );
    assert_eq!(
        unified("a", "b", "", "new\n"),
        "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+new\n"
    );
}
