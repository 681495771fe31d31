//! How a request finds the operation that the fake serves it with.

use axum::http::Method;

pub use crate::operation::Operation;

/// The path prefix of every operation.
const API: &str = "/api/v1";

/// Where a request leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// An operation, with the still percent-encoded `{hash}` segment (empty
    /// for the operations without one).
    Found(Operation, &'a str),
    /// No operation has this path.
    NotFound,
    /// The path exists, but not with this method; the value is for `Allow`.
    NotAllowed(&'static str),
}

impl Route<'_> {
    pub(crate) fn operation(self) -> Option<Operation> {
        match self {
            Route::Found(operation, _) => Some(operation),
            Route::NotFound | Route::NotAllowed(_) => None,
        }
    }
}

/// The route of `method` on `path` (the path without its query).
pub(crate) fn route<'a>(method: &Method, path: &'a str) -> Route<'a> {
    let Some(rest) = path.strip_prefix(API) else {
        return Route::NotFound;
    };
    let (candidates, segment, allow): (&[Operation], &str, &'static str) = match rest {
        "/keys" => (&[Operation::List, Operation::Create], "", "GET, POST"),
        "/key" => (&[Operation::CurrentKey], "", "GET"),
        _ => match rest.strip_prefix("/keys/") {
            Some(segment) if !segment.is_empty() && !segment.contains('/') => (
                &[Operation::Get, Operation::Update, Operation::Delete],
                segment,
                "GET, PATCH, DELETE",
            ),
            _ => return Route::NotFound,
        },
    };
    candidates
        .iter()
        .find(|operation| operation.method() == method.as_str())
        .map_or(Route::NotAllowed(allow), |&operation| {
            Route::Found(operation, segment)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_routed_to_itself() {
        for operation in Operation::ALL {
            let path = format!("{API}{}", operation.path().replace("{hash}", "abc"));
            let method = Method::from_bytes(operation.method().as_bytes()).unwrap();
            let segment = if operation.path().contains("{hash}") {
                "abc"
            } else {
                ""
            };
            assert_eq!(
                route(&method, &path),
                Route::Found(operation, segment),
                "{operation}"
            );
        }
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        assert_eq!(route(&Method::GET, "/api/v1/keys/"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/api/v1/keys/a/b"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/api/v1/key/"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/api/v1/keysx"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/keys"), Route::NotFound);
        assert_eq!(
            route(&Method::PUT, "/api/v1/keys"),
            Route::NotAllowed("GET, POST")
        );
        assert_eq!(
            route(&Method::POST, "/api/v1/keys/abc"),
            Route::NotAllowed("GET, PATCH, DELETE")
        );
        assert_eq!(
            route(&Method::DELETE, "/api/v1/key"),
            Route::NotAllowed("GET")
        );
    }
}
