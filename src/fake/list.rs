//! The query of `GET /keys` and the page it selects.

use url::form_urlencoded;

use super::key::{DEFAULT_WORKSPACE_ID, is_uuid};

/// The query parameters of `GET /keys`, in the order the fake checks them.
pub(crate) const LIST_PARAMETERS: [&str; 3] = ["include_disabled", "offset", "workspace_id"];

/// A valid `GET /keys` query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub(crate) include_disabled: bool,
    pub(crate) offset: u64,
    /// Lower case.
    pub(crate) workspace_id: String,
}

impl ListQuery {
    /// Parses the query string (without `?`). Unknown parameters are ignored;
    /// the error is the message for the first problem.
    pub(crate) fn parse(query: Option<&str>) -> Result<ListQuery, String> {
        let mut values: [Option<String>; 3] = Default::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let Some(i) = LIST_PARAMETERS.iter().position(|known| *known == name) else {
                continue;
            };
            if values[i].replace(value.into_owned()).is_some() {
                return Err(format!("Query parameter '{name}' is given more than once"));
            }
        }
        let [include_disabled, offset, workspace_id] = values;

        let include_disabled = match include_disabled.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("include_disabled", "\"true\" or \"false\"")),
        };
        let offset = match offset {
            None => 0,
            Some(text) => text
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| invalid("offset", "a non-negative integer"))?,
        };
        let workspace_id = match workspace_id {
            None => DEFAULT_WORKSPACE_ID.to_owned(),
            Some(id) if is_uuid(&id) => id.to_ascii_lowercase(),
            Some(_) => return Err(invalid("workspace_id", "a UUID")),
        };
        Ok(ListQuery {
            include_disabled,
            offset,
            workspace_id,
        })
    }
}

fn invalid(parameter: &str, expected: &str) -> String {
    format!("Invalid value for query parameter '{parameter}': expected {expected}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ListQuery, String> {
        ListQuery::parse(Some(query))
    }

    #[test]
    fn defaults_and_values() {
        let default = ListQuery {
            include_disabled: false,
            offset: 0,
            workspace_id: DEFAULT_WORKSPACE_ID.to_owned(),
        };
        assert_eq!(ListQuery::parse(None), Ok(default.clone()));
        assert_eq!(parse(""), Ok(default.clone()));
        assert_eq!(parse("other=1&&x"), Ok(default.clone()));
        assert_eq!(
            parse(
                "include_disabled=true&offset=007&workspace_id=ABCDEF01-2345-6789-abcd-ef0123456789"
            ),
            Ok(ListQuery {
                include_disabled: true,
                offset: 7,
                workspace_id: "abcdef01-2345-6789-abcd-ef0123456789".to_owned(),
            })
        );
        assert_eq!(
            parse("offset=18446744073709551615").map(|q| q.offset),
            Ok(u64::MAX)
        );
        assert_eq!(parse("%6Fffset=%33").map(|q| q.offset), Ok(3), "decoded");
    }

    #[test]
    fn bad_values_are_refused() {
        for query in [
            "include_disabled=TRUE",
            "include_disabled=1",
            "include_disabled=",
            "include_disabled",
        ] {
            assert!(
                parse(query).unwrap_err().contains("'include_disabled'"),
                "{query}"
            );
        }
        for query in [
            "offset=-1",
            "offset=+1",
            "offset=1.0",
            "offset=",
            "offset=%201",
            "offset=18446744073709551616",
        ] {
            assert!(parse(query).unwrap_err().contains("'offset'"), "{query}");
        }
        for query in [
            "workspace_id=",
            "workspace_id=default",
            "workspace_id=0df9e665d9325740b2c7b52af166bc11",
        ] {
            assert!(
                parse(query).unwrap_err().contains("'workspace_id'"),
                "{query}"
            );
        }
        assert_eq!(
            parse("offset=1&offset=1"),
            Err("Query parameter 'offset' is given more than once".to_owned())
        );
    }
}
