//! The fake OpenRouter key API (in progress).
