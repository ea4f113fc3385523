//! Plain-text tables for the trainer's report: every column as wide as its widest
//! cell in display columns (an accented letter takes one, a CJK character two),
//! numbers right-aligned, two spaces between columns, no trailing spaces.

use unicode_width::UnicodeWidthStr;

/// How a column's cells sit in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns a text takes in a monospaced font.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// The table as lines, each starting with `indent`: the header row, then the rows.
/// Line breaks and tabs inside a cell become spaces, so a cell is one line.
pub fn render(indent: &str, columns: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    render_each(&mut out, indent, columns, || rows.iter().cloned());
    out
}

/// [`render`] for a table too big to hold as strings (the grades of 100 000
/// submissions would take ~50 MB of cells): `rows()` is called twice, once to
/// measure the columns and once to write, and each row's cells live only while
/// they are measured or written.
pub fn render_each<I, F>(
    out: &mut dyn std::fmt::Write,
    indent: &str,
    columns: &[(&str, Align)],
    rows: F,
) where
    F: Fn() -> I,
    I: Iterator<Item = Vec<String>>,
{
    let clean = |cell: &str| cell.replace(['\n', '\r', '\t'], " ");
    let header: Vec<String> = columns.iter().map(|(h, _)| (*h).to_owned()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows() {
        for (w, cell) in widths.iter_mut().zip(&row) {
            *w = (*w).max(width(&clean(cell)));
        }
    }
    let body = rows().map(|r| r.iter().map(|c| clean(c)).collect::<Vec<String>>());
    for row in std::iter::once(header.clone()).chain(body) {
        let mut line = String::from(indent);
        for (i, ((cell, w), (_, align))) in row.iter().zip(&widths).zip(columns).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w.saturating_sub(width(cell)));
            match align {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
        }
        let _ = out.write_str(line.trim_end());
        let _ = out.write_char('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_in_display_columns_with_accents_and_cjk() {
        let rows = vec![
            vec!["s1".into(), "Zoë Łukasiewicz".into(), "7/10".into()],
            vec!["s22".into(), "王小明".into(), "10/10".into()],
            vec!["s3".into(), String::new(), "0/10".into()],
        ];
        let table = render(
            "  ",
            &[
                ("Student", Align::Left),
                ("Name", Align::Left),
                ("Points", Align::Right),
            ],
            &rows,
        );
        assert_eq!(
            table,
            "  Student  Name             Points\n\
             \x20 s1       Zoë Łukasiewicz    7/10\n\
             \x20 s22      王小明            10/10\n\
             \x20 s3                          0/10\n"
        );
        // Every line ends in the same display column.
        let ends: Vec<usize> = table.lines().map(width).collect();
        assert!(ends.iter().all(|w| *w == ends[0]), "{ends:?}");
    }

    #[test]
    fn a_last_left_column_leaves_no_trailing_spaces_and_cells_stay_on_one_line() {
        let rows = vec![
            vec!["a".into(), "x".into()],
            vec!["b".into(), "two\nlines".into()],
        ];
        let table = render("", &[("K", Align::Left), ("Value", Align::Left)], &rows);
        assert_eq!(table, "K  Value\na  x\nb  two lines\n");
    }
}
