//! The operations the fake serves, and how a request finds its operation.

use std::fmt;

use axum::http::Method;

/// The path prefix of every operation.
const API: &str = "/api/v1";

/// One operation of OpenRouter's key API ("API Keys") that the fake serves.
///
/// Use it to aim a fault at one operation ([`Fault::only_for`]) and to see
/// which operation a recorded request reached
/// ([`RecordedRequest::operation`]).
///
/// [`Fault::only_for`]: super::Fault::only_for
/// [`RecordedRequest::operation`]: super::RecordedRequest::operation
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `GET /keys`: a page of keys (`listKeys`).
    List,
    /// `POST /keys`: create a key (`createKey`).
    Create,
    /// `GET /keys/{hash}`: one key (`getKey`).
    Get,
    /// `PATCH /keys/{hash}`: update a key (`updateKey`).
    Update,
    /// `DELETE /keys/{hash}`: delete a key (`deleteKey`).
    Delete,
    /// `GET /key`: the key that makes the call (`getCurrentKey`).
    CurrentKey,
}

impl Operation {
    /// Every operation, in the order the API lists them.
    pub const ALL: [Operation; 6] = [
        Operation::List,
        Operation::Create,
        Operation::Get,
        Operation::Update,
        Operation::Delete,
        Operation::CurrentKey,
    ];

    /// The HTTP method, such as `"PATCH"`.
    pub fn method(self) -> &'static str {
        match self {
            Operation::List | Operation::Get | Operation::CurrentKey => "GET",
            Operation::Create => "POST",
            Operation::Update => "PATCH",
            Operation::Delete => "DELETE",
        }
    }

    /// The path template relative to the base URL, as the API description
    /// writes it: `/keys`, `/keys/{hash}` or `/key`.
    pub fn path(self) -> &'static str {
        match self {
            Operation::List | Operation::Create => "/keys",
            Operation::Get | Operation::Update | Operation::Delete => "/keys/{hash}",
            Operation::CurrentKey => "/key",
        }
    }

    /// Whether only a management key may call it: every operation but
    /// [`Operation::CurrentKey`], which answers for any key.
    pub fn needs_management_key(self) -> bool {
        self != Operation::CurrentKey
    }
}

impl fmt::Display for Operation {
    /// `METHOD /path`, such as `PATCH /keys/{hash}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method(), self.path())
    }
}

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
