//! `tppo export`: the labels as a Hugging Face token-classification dataset and the
//! SFT data as prompt/completion JSONL (see the library's `export` module).

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::data::jsonl;
use tppo::export;
use tppo::labeler::labels;
use tppo::model::prompt::Special;
use tppo::tokenize::Tok;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Labels (from `tppo label`) → JSONL rows {words, word_labels, sentence_label,
    /// tokens, input_ids, token_labels} for `datasets.load_dataset("json", …)`.
    Labels {
        /// A labels JSONL (`tppo label --out`).
        #[arg(long)]
        labels: PathBuf,
        /// The tokenizer.json whose tokens get the labels.
        #[arg(long, default_value = "data/tokenizer.json")]
        tokenizer: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Users → JSONL rows {user_id, prompt, completion} for SFT trainers.
    Sft {
        #[arg(long, default_value = "data/train.jsonl.gz")]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(c: ExportCommand) -> anyhow::Result<ExitCode> {
    match c {
        ExportCommand::Labels {
            labels: path,
            tokenizer,
            out,
        } => {
            let tok = Tok::load(&tokenizer)?;
            let sp = Special::of(&tok)?;
            let records = labels::read(&path)?;
            let rows = export::label_rows(&tok, sp, &records)?;
            tppo::io::write_jsonl(&out, &rows)?;
            println!(
                "{} labels rows ({} tokens) → {}",
                rows.len(),
                rows.iter().map(|r| r.input_ids.len()).sum::<usize>(),
                out.display()
            );
        }
        ExportCommand::Sft { data, out } => {
            let users = jsonl::read_users(&data)?;
            let rows = export::sft_rows(&users);
            tppo::io::write_jsonl(&out, &rows)?;
            println!("{} prompt/completion rows → {}", rows.len(), out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
