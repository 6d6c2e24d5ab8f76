//! Plain-text output: a table with a header row, and the "field: value" list of one
//! record. Columns are padded to their widest cell (counted in characters); nothing is
//! truncated, so a table can be grepped.

/// A table whose rows are printed under a header, columns two spaces apart.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, header first. An empty table is the header and
    /// a line saying so.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(i) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let width = widths.get(i).copied().unwrap_or(0);
                line.extend(std::iter::repeat_n(
                    ' ',
                    width.saturating_sub(cell.chars().count()),
                ));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if self.rows.is_empty() {
            out.push_str("(none)\n");
        }
        out
    }

    pub(crate) fn print(&self) -> anyhow::Result<()> {
        super::write_stdout(&self.render())
    }
}

/// The fields of one record, one per line, values aligned.
pub(crate) fn render_fields(fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, value) in fields {
        let pad = width - name.chars().count();
        out.push_str(&format!("{name}:{}  {value}\n", " ".repeat(pad)));
    }
    out
}

pub(crate) fn print_fields(fields: &[(&str, String)]) -> anyhow::Result<()> {
    super::write_stdout(&render_fields(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let mut table = Table::new(&["ID", "NAME"]);
        table.row(vec!["1".into(), "a.test".into()]);
        table.row(vec!["100".into(), "é".into()]);
        assert_eq!(table.render(), "ID   NAME\n1    a.test\n100  é\n");
        assert_eq!(Table::new(&["ID"]).render(), "ID\n(none)\n");
    }

    #[test]
    fn fields_are_aligned() {
        let text = render_fields(&[("id", "1".into()), ("status", "valid".into())]);
        assert_eq!(text, "id:      1\nstatus:  valid\n");
    }
}
