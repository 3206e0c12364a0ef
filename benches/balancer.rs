//! Behind HAProxy: requests per second through the balancer to two gemhole nodes against one
//! node reached directly, in the same run; and full against resumed handshakes when readers
//! land on either node (one ticket key file shared by both).
//!
//! `cargo bench --bench balancer` (`-- --quick` for one short round). Needs `haproxy` (Debian's
//! package). Client, balancer and both nodes share this machine's cores, so this shows what the
//! balancer costs and that resumption works across nodes, not how two machines would scale.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::balancer::Cluster;

/// One gemload run: requests per second (and failures).
fn load(addr: &str, url: &str, concurrency: usize, seconds: f64, resume: bool) -> (f64, f64) {
    let mut command = Command::new(common::tool("gemload"));
    command
        .args(["gemini", url, "--connect", addr, "--json"])
        .args(["-c", &concurrency.to_string(), "-d", &seconds.to_string()]);
    if resume {
        command.arg("--resume");
    }
    let output = command.output().expect("gemload");
    let json = String::from_utf8_lossy(&output.stdout);
    let field = |name| common::json_number(&json, name).unwrap_or(f64::NAN);
    (field("rps"), field("failed"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (rounds, seconds) = if quick { (1, 2.0) } else { (3, 4.0) };
    let cluster = Cluster::start();
    let front = format!("127.0.0.1:{}", cluster.gemini_front);
    let front_url = format!("gemini://localhost:{}/", cluster.gemini_front);
    let direct = cluster.nodes[0].plain();
    let direct_url = format!("gemini://localhost:{}/", direct.port());
    let direct = direct.to_string();
    let mut rows: Vec<(String, usize, Vec<f64>, f64)> = Vec::new();
    for round in 0..rounds {
        for c in [1, 8, 64] {
            for (label, addr, url, resume) in [
                ("one node, direct", &direct, &direct_url, false),
                ("HAProxy, two nodes", &front, &front_url, false),
                ("HAProxy, two nodes, resumed", &front, &front_url, true),
            ] {
                let (rps, failed) = load(addr, url, c, seconds, resume);
                match rows.iter_mut().find(|(l, cc, _, _)| l == label && *cc == c) {
                    Some(row) => {
                        row.2.push(rps);
                        row.3 += failed;
                    }
                    None => rows.push((label.to_owned(), c, vec![rps], failed)),
                }
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    println!("| path | c | req/s | failed |");
    println!("| --- | --- | --- | --- |");
    for (label, c, runs, failed) in &rows {
        println!(
            "| {label} | {c} | {:.0} | {failed:.0} |",
            common::median(runs.clone())
        );
    }
    let rps = |label: &str, c: usize| {
        rows.iter()
            .find(|(l, cc, _, _)| l == label && *cc == c)
            .map(|(_, _, runs, _)| common::median(runs.clone()))
            .unwrap_or(f64::NAN)
    };
    for c in [1, 8, 64] {
        println!(
            "c={c}: HAProxy + two nodes / one node direct = {:.2}×; resumed / full through \
             HAProxy = {:.2}×",
            rps("HAProxy, two nodes", c) / rps("one node, direct", c),
            rps("HAProxy, two nodes, resumed", c) / rps("HAProxy, two nodes", c),
        );
    }
}
