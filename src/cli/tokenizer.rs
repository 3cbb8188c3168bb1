use super::print_json;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::data::jsonl;
use tppo::io::write_file_atomic;

#[derive(Subcommand)]
pub enum TokenizerCommand {
    /// Train a byte-level BPE on the history texts and targets of a users file.
    Train {
        #[arg(long, default_value = "data/train.jsonl.gz")]
        data: PathBuf,
        /// Vocabulary size: the 256 bytes, the 6 special tokens and the merges.
        #[arg(long, default_value_t = 4096, value_parser = tppo::args::count(262, 1 << 20))]
        vocab: usize,
        #[arg(long, default_value = "data/tokenizer.json")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: TokenizerCommand) -> anyhow::Result<ExitCode> {
    let TokenizerCommand::Train {
        data,
        vocab,
        out,
        json,
    } = cmd;
    let users = jsonl::read_users(&data)?;
    let texts = users.iter().flat_map(|u| {
        u.history
            .iter()
            .map(|e| e.text.clone())
            .chain(std::iter::once(u.target_response()))
    });
    let tok_json = tppo::tokenize::train_bpe(texts, vocab)?;
    write_file_atomic(&out, tok_json.as_bytes())?;
    let tok = tppo::tokenize::Tok::from_bytes(tok_json.as_bytes())?;
    // Mean response length in tokens: the natural suggested length `sl` of lwp.
    let mut total = 0usize;
    for u in &users {
        total += tok.encode(&u.target_response())?.ids.len();
    }
    let mean = total as f64 / users.len().max(1) as f64;
    if json {
        print_json(
            &serde_json::json!({"out": out, "vocab_size": tok.vocab_size(), "users": users.len(), "mean_target_tokens": mean}),
        )?;
    } else {
        println!(
            "trained a BPE of {} tokens on {} users → {}; target responses average {:.1} tokens",
            tok.vocab_size(),
            users.len(),
            out.display(),
            mean
        );
    }
    Ok(ExitCode::SUCCESS)
}
