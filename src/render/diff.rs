//! A unified line diff (longest common subsequence, three lines of context): `init --force`
//! shows it before replacing a file, and the tests print it when an output differs from its
//! golden file or from a committed generated file.

/// One line of an edit script: kept, removed from `old`, or added from `new`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Edit<'a> {
    Keep(&'a str),
    Del(&'a str),
    Add(&'a str),
}

/// The edit script turning `old` into `new`. The common head and tail are cut first, so
/// the quadratic table only spans the changed middle.
fn edits<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<Edit<'a>> {
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..]
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out: Vec<Edit> = old[..head].iter().map(|l| Edit::Keep(l)).collect();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(Edit::Keep(a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Edit::Del(a[i]));
            i += 1;
        } else {
            out.push(Edit::Add(b[j]));
            j += 1;
        }
    }
    out.extend(old[old.len() - tail..].iter().map(|l| Edit::Keep(l)));
    out
}

const CONTEXT: usize = 3;

/// `expected` → `actual` as a unified diff (`--- old_name`, `+++ new_name`, `@@` hunks);
/// empty when the texts are equal.
pub fn unified(old_name: &str, new_name: &str, expected: &str, actual: &str) -> String {
    if expected == actual {
        return String::new();
    }
    let old: Vec<&str> = expected.split_inclusive('\n').collect();
    let new: Vec<&str> = actual.split_inclusive('\n').collect();
    let script = edits(&old, &new);
    let changed: Vec<usize> = (0..script.len())
        .filter(|&k| !matches!(script[k], Edit::Keep(_)))
        .collect();
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    // positions in old/new at the start of each edit
    let mut pos = Vec::with_capacity(script.len() + 1);
    let (mut o, mut n) = (0, 0);
    for e in &script {
        pos.push((o, n));
        match e {
            Edit::Keep(_) => (o, n) = (o + 1, n + 1),
            Edit::Del(_) => o += 1,
            Edit::Add(_) => n += 1,
        }
    }
    pos.push((o, n));
    let mut k = 0;
    while k < changed.len() {
        // a hunk: changes closer than 2 × CONTEXT unchanged lines are joined
        let mut last = k;
        while last + 1 < changed.len() && changed[last + 1] - changed[last] - 1 <= 2 * CONTEXT {
            last += 1;
        }
        let start = changed[k].saturating_sub(CONTEXT);
        let end = (changed[last] + CONTEXT + 1).min(script.len());
        let (o0, n0) = pos[start];
        let (o1, n1) = pos[end];
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            o0 + usize::from(o1 > o0),
            o1 - o0,
            n0 + usize::from(n1 > n0),
            n1 - n0
        ));
        for e in &script[start..end] {
            let (mark, line) = match e {
                Edit::Keep(l) => (' ', l),
                Edit::Del(l) => ('-', l),
                Edit::Add(l) => ('+', l),
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        k = last + 1;
    }
    out
}
