use super::{Assets, print_json, style};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::args;
use tppo::data::{EventKind, jsonl};
use tppo::reward::lwp::LwpConfig;
use tppo::tokenize::{LabeledSpan, Tok};

#[derive(Args)]
pub struct InspectArgs {
    #[arg(long, default_value = "data/eval.jsonl")]
    data: PathBuf,
    #[arg(long, value_parser = args::non_empty)]
    user: String,
    #[command(flatten)]
    assets: Assets,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct LwpArgs {
    /// Penalty intensity α.
    #[arg(long, default_value_t = LwpConfig::default().alpha, value_parser = args::non_negative::<f32>)]
    alpha: f32,
    /// Suggested length sl (tokens).
    #[arg(long, default_value_t = LwpConfig::default().sl, value_parser = args::non_negative::<f32>)]
    sl: f32,
    /// Last position to print.
    #[arg(long, default_value_t = 32, value_parser = args::count(1, 100_000))]
    max_len: usize,
    #[arg(long)]
    json: bool,
}

pub fn inspect(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let user = tppo::data::find_user(&users, &a.user, &a.data)?;
    let (judge, _) = tppo::labeler::file::load(&a.assets.assets, &a.assets.train)?;
    let tok = Tok::load(&a.assets.assets.join("tokenizer.json"))?;
    let response = user.target_response();
    let j = judge.judge(&user.history, &response);
    let spans: Vec<LabeledSpan> = j.words.iter().map(LabeledSpan::from).collect();
    let (enc, classes) = tok.encode_labeled(&response, &spans)?;
    if a.json {
        print_json(&serde_json::json!({
            "user": user, "response": response, "judgement": j,
            "tokens": enc.tokens.iter().zip(&enc.offsets).zip(&classes).map(|((t, o), c)| serde_json::json!({
                "token": t, "text": &response[o.0..o.1], "start": o.0, "end": o.1, "class": c})).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let on = style::enabled();
    println!("{}", style::bold(&format!("user {}", user.user_id), on));
    println!("{}", style::bold("history", on));
    for e in &user.history {
        let kind = match e.kind {
            EventKind::Search => "search",
            EventKind::Click => "click ",
        };
        println!(
            "  {} {kind} {}",
            e.time.as_deref().unwrap_or("                   "),
            e.text
        );
    }
    println!(
        "{}",
        style::bold(
            "targets (word labels: 2 relevant, 1 irrelevant, 0 non-reward)",
            on
        )
    );
    let words: Vec<String> = j
        .words
        .iter()
        .map(|w| format!("{}/{}", style::class(&w.text, w.class, on), w.class))
        .collect();
    println!("  {}", words.join(" "));
    for w in j.words.iter().filter(|w| w.class != 0) {
        println!("    {:<18} {}", w.text, w.evidence);
    }
    println!(
        "  sentence label {} ({:.0}% of content words relevant)",
        j.sentence,
        100.0 * j.relevant_fraction
    );
    println!("{}", style::bold("token labels", on));
    let toks: Vec<String> = enc
        .offsets
        .iter()
        .zip(&classes)
        .map(|(o, c)| format!("[{}]{}", style::class(&response[o.0..o.1], *c, on), c))
        .collect();
    println!("  {}", toks.join(" "));
    Ok(ExitCode::SUCCESS)
}

pub fn lwp(a: LwpArgs) -> anyhow::Result<ExitCode> {
    let cfg = LwpConfig {
        alpha: a.alpha,
        sl: a.sl,
    };
    let values: Vec<(usize, f32)> = (1..=a.max_len)
        .map(|l| (l, tppo::reward::lwp::lwp(l, cfg)))
        .collect();
    if a.json {
        print_json(&serde_json::json!({"alpha": a.alpha, "sl": a.sl, "lwp": values}))?;
    } else {
        println!(
            "lwp(l) = 1/(1+exp(α(l−sl)−6)), α = {}, sl = {}",
            a.alpha, a.sl
        );
        for (l, v) in values {
            println!(
                "{l:>4}  {v:.4}  {}",
                "#".repeat((v * 40.0).round() as usize)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
