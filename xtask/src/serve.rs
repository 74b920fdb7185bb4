//! `cargo xtask serve [--port N] [--open]`: the development loop. Trunk
//! rebuilds on every change under the watched paths and reloads the page.

use crate::{announce, install, run_cmd, Result};

const DEFAULT_PORT: u16 = 8080;

/// The address the app is served at on `port`.
pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/")
}

/// The address `cargo xtask serve` serves the app at by default: the base of
/// the links to failing seeds that sweeps print.
pub fn default_url() -> String {
    url(DEFAULT_PORT)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let tools = install::ensure(install::Browser::NotNeeded)?;

    let url = url(options.port);
    announce(&format!(
        "Serving Clusterscope at {url} with live reload (Ctrl-C stops)"
    ));
    let mut trunk = tools.trunk();
    trunk.args([
        "serve",
        "--address",
        "127.0.0.1",
        "--port",
        &options.port.to_string(),
    ]);
    if options.open == Open::Yes {
        trunk.arg("--open");
    }
    run_cmd(&mut trunk)
}

#[derive(Debug, PartialEq, Eq)]
enum Open {
    Yes,
    No,
}

#[derive(Debug, PartialEq, Eq)]
struct Options {
    port: u16,
    open: Open,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            port: DEFAULT_PORT,
            open: Open::No,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--open" => options.open = Open::Yes,
                "--port" => {
                    let value = args
                        .next()
                        .ok_or("`--port` needs a number, e.g. `--port 8081`")?;
                    options.port = parse_port(value)?;
                }
                other => match other.strip_prefix("--port=") {
                    Some(value) => options.port = parse_port(value)?,
                    None => {
                        return Err(format!(
                        "`cargo xtask serve` does not know `{other}`; it takes --port N and --open"
                    ))
                    }
                },
            }
        }
        Ok(options)
    }
}

fn parse_port(value: &str) -> Result<u16> {
    match value.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("`{value}` is not a port number (1 to 65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_to_8080_without_opening() {
        assert_eq!(
            parse(&[]).unwrap(),
            Options {
                port: 8080,
                open: Open::No
            }
        );
    }

    #[test]
    fn reads_port_and_open() {
        let want = Options {
            port: 9000,
            open: Open::Yes,
        };
        assert_eq!(parse(&["--port", "9000", "--open"]).unwrap(), want);
        assert_eq!(parse(&["--open", "--port=9000"]).unwrap(), want);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "0"]).is_err());
        assert!(parse(&["--port", "http"]).is_err());
        assert!(parse(&["--verbose"]).is_err());
    }
}
