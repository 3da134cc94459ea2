//! Lists on the command line: aligned columns with a header, one record per line, so that
//! `grep`, `cut -c` and people read them alike. An empty list prints its header and a line
//! saying there is nothing, never nothing at all.

/// Prints `rows` under `headers`, each column as wide as its widest cell.
pub fn print(headers: &[&str], rows: &[Vec<String>], nothing: &str) {
    print!("{}", render(headers, rows, nothing));
}

fn render(headers: &[&str], rows: &[Vec<String>], nothing: &str) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text + "\n"
    };
    let mut out = line(&mut headers.iter().copied());
    if rows.is_empty() {
        out.push_str(nothing);
        out.push('\n');
    }
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell_and_an_empty_list_says_so() {
        let rows = vec![
            vec!["FRA".to_owned(), "France".to_owned()],
            vec!["MKD".to_owned(), "North Macedonia".to_owned()],
        ];
        assert_eq!(
            render(&["code", "name"], &rows, "none"),
            "code  name\nFRA   France\nMKD   North Macedonia\n"
        );
        assert_eq!(render(&["code"], &[], "(no cycles)"), "code\n(no cycles)\n");
    }
}
