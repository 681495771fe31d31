//! The operations of the API Keys tag that this crate covers: the one list
//! of them, read by the client, the fake and the xtask.
//!
//! The xtask compiles this file too (`#[path]`), to select these operations
//! from the upstream document, so it uses nothing outside `core`.

/// One operation of OpenRouter's key API ("API Keys").
///
/// The client calls each of them; the fake serves each of them (use it to
/// aim a fault at one operation, and to see which operation a recorded
/// request reached); and `cargo xtask refresh-spec` selects each of them
/// from OpenRouter's published document by method and path, under the
/// stable [`id`](Self::id) that the generated code is named after.
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

    /// The operationId that `openapi.yaml` gives it, whatever upstream
    /// calls it: the generated method is named after it (`update_key`).
    pub const fn id(self) -> &'static str {
        match self {
            Operation::List => "listKeys",
            Operation::Create => "createKey",
            Operation::Get => "getKey",
            Operation::Update => "updateKey",
            Operation::Delete => "deleteKey",
            Operation::CurrentKey => "getCurrentKey",
        }
    }

    /// The HTTP method, such as `"PATCH"`.
    pub const fn method(self) -> &'static str {
        match self {
            Operation::List | Operation::Get | Operation::CurrentKey => "GET",
            Operation::Create => "POST",
            Operation::Update => "PATCH",
            Operation::Delete => "DELETE",
        }
    }

    /// The path template relative to the base URL, as the API description
    /// writes it: `/keys`, `/keys/{hash}` or `/key`.
    pub const fn path(self) -> &'static str {
        match self {
            Operation::List | Operation::Create => "/keys",
            Operation::Get | Operation::Update | Operation::Delete => "/keys/{hash}",
            Operation::CurrentKey => "/key",
        }
    }

    /// The status of a successful answer: 201 for a create, 200 otherwise.
    pub const fn success_status(self) -> u16 {
        match self {
            Operation::Create => 201,
            _ => 200,
        }
    }

    /// Whether sending it twice does no more than sending it once: every
    /// operation but a create. `PATCH` sets absolute values, `GET` changes
    /// nothing, and a repeated `DELETE` can only find the key gone; a
    /// second `POST /keys` makes a second key.
    pub const fn is_idempotent(self) -> bool {
        !matches!(self, Operation::Create)
    }

    /// Whether its success answer carries a secret (the created key's), so
    /// that nothing may keep or quote that answer's body.
    pub const fn answers_with_secret(self) -> bool {
        matches!(self, Operation::Create)
    }

    /// Whether only a management key may call it: every operation but
    /// [`Operation::CurrentKey`], which answers for any key.
    pub const fn needs_management_key(self) -> bool {
        !matches!(self, Operation::CurrentKey)
    }
}

impl core::fmt::Display for Operation {
    /// `METHOD /path`, such as `PATCH /keys/{hash}`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.method(), self.path())
    }
}
