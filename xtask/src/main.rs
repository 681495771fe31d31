//! The project's task runner: `cargo xtask <command>`.

mod generate;
#[allow(dead_code)]
#[path = "../../src/operation.rs"]
mod operation;
mod refresh;
mod source;
mod spec;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use operation::Operation;
use refresh::{Options, Outcome};

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  refresh-spec   Regenerate openapi.yaml from OpenRouter's published OpenAPI document
  help           Show this help, or `help <command>` for one command

Run `cargo xtask <command> --help` for the options of a command.
";

fn refresh_help() -> String {
    format!(
        "\
Regenerate openapi.yaml from OpenRouter's published OpenAPI document.

Usage: cargo xtask refresh-spec [--from <PATH|URL>] [--check] [--retrieved <YYYY-MM-DD>]
                                [--spec <PATH>] [--max-bytes <N>]

Selects the operations {ops}
(by method and path: Operation::ALL in src/operation.rs) with everything they
reference, gives them stable operationIds, converts them to OpenAPI 3.0.3,
unifies the error envelopes into ErrorResponse/ErrorData and the key objects
into ApiKey, hoists request bodies into <OperationId>Request, generates the
client from the result as build.rs does (a fragment that cannot build is
never written), writes it with a provenance header (atomically), and prints
what changed for callers and what to do next.

Options:
  --from <PATH|URL>         The upstream document, JSON or YAML, from a file or an
                            http(s) URL [default: {source}]
  --check                   Write nothing; exit 1 with a diff if the file is not what
                            the source produces, or the source is not the document the
                            header's sha256 names (wherever the source is)
  --retrieved <YYYY-MM-DD>  The day the source was retrieved from upstream [default: the
                            previous date while the source's sha256 is unchanged, else
                            the date in the file's name, or today for a URL]
  --spec <PATH>             The file to write or check [default: {spec}]
  --max-bytes <N>           Refuse a document larger than N bytes [default: {max}]
  -h, --help                Show this help

--check ignores the header's `source` and `retrieved` lines: it checks
content, so a copy of the document anywhere (another path, a URL) passes.
Exit status: 0 on success, 1 on error or when --check finds the file out of
date, 2 on a usage error.
",
        ops = Operation::ALL
            .iter()
            .map(|op| format!("{} ({op})", op.id()))
            .collect::<Vec<_>>()
            .join(", "),
        source = source::DEFAULT_SOURCE,
        spec = refresh::default_spec_path().display(),
        max = source::DEFAULT_MAX_BYTES,
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("help" | "-h" | "--help") => {
            if args.get(1).map(String::as_str) == Some("refresh-spec") {
                print!("{}", refresh_help());
            } else {
                print!("{USAGE}");
            }
            ExitCode::SUCCESS
        }
        Some("refresh-spec") => refresh_spec(&args[1..]),
        Some(other) => usage_error(&format!("unknown command `{other}`"), USAGE),
    }
}

fn usage_error(message: &str, help: &str) -> ExitCode {
    eprintln!("error: {message}\n\n{help}");
    ExitCode::from(2)
}

/// Parses `refresh-spec` options; `Err` carries a usage error.
fn parse_refresh(args: &[String]) -> Result<Option<Options>, String> {
    let mut opts = Options {
        from: source::DEFAULT_SOURCE.to_owned(),
        spec: refresh::default_spec_path(),
        check: false,
        retrieved: None,
        max_bytes: source::DEFAULT_MAX_BYTES,
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (arg, None),
        };
        let value = |i: &mut usize| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--check" if inline.is_none() => opts.check = true,
            "--from" => opts.from = value(&mut i)?,
            "--spec" => opts.spec = PathBuf::from(value(&mut i)?),
            "--retrieved" => opts.retrieved = Some(value(&mut i)?),
            "--max-bytes" => {
                let v = value(&mut i)?;
                opts.max_bytes = v
                    .parse()
                    .map_err(|_| format!("`--max-bytes` needs a number of bytes, not `{v}`"))?;
            }
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
        i += 1;
    }
    Ok(Some(opts))
}

fn refresh_spec(args: &[String]) -> ExitCode {
    let opts = match parse_refresh(args) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            print!("{}", refresh_help());
            return ExitCode::SUCCESS;
        }
        Err(message) => return usage_error(&message, &refresh_help()),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = refresh::run(&opts, &mut out);
    let _ = out.flush();
    match result {
        Ok(Outcome::OutOfDate(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            if opts.spec.exists() {
                eprintln!("{} was left unchanged.", opts.spec.display());
            } else {
                eprintln!("{} was not written.", opts.spec.display());
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<Options>, String> {
        parse_refresh(
            &line
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn options_parse() {
        let o = parse("--from a.json --check --retrieved=2026-08-22 --spec x.yaml --max-bytes 10")
            .unwrap()
            .unwrap();
        assert_eq!(
            (o.from.as_str(), o.check, o.retrieved.as_deref()),
            ("a.json", true, Some("2026-08-22"))
        );
        assert_eq!((o.spec, o.max_bytes), (PathBuf::from("x.yaml"), 10));
        let d = parse("").unwrap().unwrap();
        assert_eq!(d.from, "https://openrouter.ai/openapi.json");
        assert!(d.spec.ends_with("openapi.yaml"));
        assert!(parse("--help").unwrap().is_none());
        for (line, error) in [
            ("--from", "`--from` needs a value"),
            ("--bogus", "unexpected argument `--bogus`"),
            (
                "--max-bytes lots",
                "`--max-bytes` needs a number of bytes, not `lots`",
            ),
        ] {
            assert_eq!(parse(line).unwrap_err(), error);
        }
    }
}
