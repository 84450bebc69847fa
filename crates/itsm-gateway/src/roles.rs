//! The role table of docs/ROLES.md, compiled in: one source for the gateway and its tests.

use std::collections::HashMap;
use std::sync::LazyLock;

use itsm_kernel::Role;

/// The table, verbatim.
pub const ROLES_MD: &str = include_str!("../../../docs/ROLES.md");

/// What a role may do with an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Allowed.
    Yes,
    /// Allowed on the caller's own tickets only.
    Own,
    /// Refused.
    No,
}

/// Operation name -> access per role, in the table's column order.
type Table = HashMap<String, HashMap<Role, Access>>;

/// Parses the markdown table: the header row names the roles, each row after the separator
/// names an operation and gives `yes`, `own` or `no` per role.
pub fn parse(markdown: &str) -> Result<Table, String> {
    let mut rows = markdown
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect::<Vec<_>>()
        });
    let header = rows.next().ok_or("the role table has no header")?;
    let roles = header
        .iter()
        .skip(1)
        .map(|name| {
            Role::ALL
                .into_iter()
                .find(|role| role.as_str() == name)
                .ok_or_else(|| format!("unknown role column {name:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut table = Table::new();
    for row in rows.skip(1) {
        let (operation, cells) = row.split_first().ok_or("an empty row")?;
        if cells.len() != roles.len() {
            return Err(format!(
                "row {operation} has {} cells, not {}",
                cells.len(),
                roles.len()
            ));
        }
        let mut access = HashMap::new();
        for (role, cell) in roles.iter().zip(cells) {
            let value = match cell.as_str() {
                "yes" => Access::Yes,
                "own" => Access::Own,
                "no" => Access::No,
                other => return Err(format!("row {operation}: {other:?} is not yes, own or no")),
            };
            access.insert(*role, value);
        }
        if table.insert(operation.clone(), access).is_some() {
            return Err(format!("operation {operation} is listed twice"));
        }
    }
    Ok(table)
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    // A malformed table is caught by this crate's tests; at run time it fails closed.
    parse(ROLES_MD).unwrap_or_default()
});

/// What `role` may do with `operation`. Unknown operations are refused.
pub fn access(role: Role, operation: &str) -> Access {
    TABLE
        .get(operation)
        .and_then(|row| row.get(&role))
        .copied()
        .unwrap_or(Access::No)
}

/// Every operation the table lists.
pub fn operations() -> Vec<String> {
    let mut all: Vec<String> = TABLE.keys().cloned().collect();
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses() {
        let table = parse(ROLES_MD).expect("docs/ROLES.md parses");
        assert!(table.len() >= 3);
        assert_eq!(access(Role::Auditor, "logIncident"), Access::No);
        assert_eq!(access(Role::Requester, "incident"), Access::Own);
        assert_eq!(access(Role::Admin, "noSuchOperation"), Access::No);
    }

    #[test]
    fn malformed_tables_are_refused() {
        let header = "| operation | requester |\n|---|---|\n";
        assert!(parse(&format!("{header}| x | maybe |")).is_err());
        assert!(parse(&format!("{header}| x | yes | no |")).is_err());
        assert!(parse(&format!("{header}| x | yes |\n| x | no |")).is_err());
        assert!(parse("| operation | pilot |\n|---|---|\n").is_err());
    }
}
