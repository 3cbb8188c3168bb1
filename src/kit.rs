//! What every driver of the method needs besides the models: the tokenizer with its
//! special tokens, the judge, and the training users (the RL prompts; their
//! histories also give the judge its co-occurrence statistics). The command line
//! reads it from files ([`Kit::load`]), the page from the bytes it fetched
//! ([`Kit::from_bytes`]).

use crate::data::User;
use crate::error::{Error, Result};
use crate::labeler::Labeler;
use crate::model::prompt::{MAX_PROMPT, Prompter, Special};
use crate::tokenize::Tok;

pub struct Kit {
    pub tok: Tok,
    pub sp: Special,
    pub labeler: Labeler,
    pub train: Vec<User>,
    /// The generator's truth for the hidden-interest metric and the gold score
    /// (`data/interests.json`; the corpus' attested word pairs natively, from
    /// `data/trec-queries.tsv`), when the assets have them.
    pub gold: Option<crate::data::gold::Gold>,
}

impl Kit {
    pub fn new(tok: Tok, labeler: Labeler, train: Vec<User>) -> Result<Self> {
        let sp = Special::of(&tok)?;
        Ok(Self {
            tok,
            sp,
            labeler,
            train,
            gold: None,
        })
    }

    /// From files: the assets folder (word vectors, `labeler.json`), the training
    /// users and the tokenizer.
    pub fn load(
        assets: &std::path::Path,
        train: &std::path::Path,
        tokenizer: &std::path::Path,
    ) -> Result<Self> {
        let tok = Tok::load(tokenizer)?;
        let train = crate::data::jsonl::read_users(train)?;
        let (labeler, _) = crate::labeler::file::load_with_users(assets, &train)?;
        let gold = load_gold(assets, labeler.vectors())?;
        Ok(Self {
            gold,
            ..Self::new(tok, labeler, train)?
        })
    }

    /// From the bundled files' bytes (a gzip-compressed users file is unpacked).
    pub fn from_bytes(
        tokenizer: &[u8],
        vectors: &[u8],
        vocab: &str,
        train: &[u8],
        labeler_json: &str,
        interests_json: &str,
    ) -> Result<Self> {
        let train = read_train(train)?;
        let mut kit = Self::assemble(
            tokenizer,
            vectors,
            vocab,
            labeler_json,
            interests_json,
            |cfg, v| Ok(Labeler::new(cfg, v, &train)),
        )?;
        kit.train = train;
        Ok(kit)
    }

    /// [`Kit::from_bytes`] with the judge's co-occurrence statistics precomputed
    /// (`data/judge-stats.bin.gz`, [`crate::labeler::cooc::Cooc::to_bytes`]) instead of
    /// the training users, which the page sends later ([`Kit::set_train`]): its first
    /// view needs only the judge.
    pub fn from_bytes_with_statistics(
        tokenizer: &[u8],
        vectors: &[u8],
        vocab: &str,
        statistics: &[u8],
        labeler_json: &str,
        interests_json: &str,
    ) -> Result<Self> {
        Self::assemble(
            tokenizer,
            vectors,
            vocab,
            labeler_json,
            interests_json,
            |cfg, v| {
                let cooc = crate::labeler::cooc::Cooc::from_bytes(
                    "data/judge-stats.bin.gz",
                    &crate::io::maybe_gunzip(statistics)?,
                )?;
                Ok(Labeler::with_statistics(cfg, v, cooc))
            },
        )
    }

    /// The kit from the bundled bytes, its judge built by `judge` (no training users yet).
    fn assemble(
        tokenizer: &[u8],
        vectors: &[u8],
        vocab: &str,
        labeler_json: &str,
        interests_json: &str,
        judge: impl FnOnce(
            crate::labeler::LabelerConfig,
            crate::vectors::WordVectors,
        ) -> Result<Labeler>,
    ) -> Result<Self> {
        let tok = Tok::from_bytes(tokenizer)?;
        let vectors = crate::vectors::WordVectors::from_bytes(vectors, vocab)?;
        let file: crate::labeler::file::LabelerFile = serde_json::from_str(labeler_json)
            .map_err(|e| Error::Invalid(format!("data/labeler.json: {e}")))?;
        let interests = crate::data::interests::InterestFile::from_bytes(
            "data/interests.json",
            interests_json.as_bytes(),
        )?;
        let world = crate::data::interests::World::new(&interests, &vectors)?;
        let labeler = judge(file.config, vectors)?;
        // No corpus yet: the hidden-interest metric, and no gold score until the page
        // sends the corpus ([`Kit::set_corpus`]).
        Ok(Self {
            gold: Some(crate::data::gold::Gold {
                world,
                attested: None,
            }),
            ..Self::new(tok, labeler, Vec::new())?
        })
    }

    /// The training users (the RL prompts and the page's reward-model data), from
    /// their file's bytes (gzip or not).
    pub fn set_train(&mut self, train: &[u8]) -> Result<()> {
        self.train = read_train(train)?;
        Ok(())
    }

    /// The query corpus (`data/trec-queries.tsv`, gzip or not) from its bytes: the
    /// attested word pairs the gold score's well-formedness reads. The page sends it
    /// after its first view; with it, the page's gold is the command line's.
    pub fn set_corpus(&mut self, bytes: &[u8]) -> Result<()> {
        let corpus =
            crate::data::corpus::parse("data/trec-queries.tsv", &crate::io::maybe_gunzip(bytes)?)?;
        if let Some(gold) = self.gold.as_mut() {
            gold.attested = Some(crate::data::gold::Attested::of(&corpus.queries));
        }
        Ok(())
    }

    /// Prompts within the shipped policy's budget.
    pub fn prompter(&self) -> Prompter<'_> {
        Prompter {
            tok: &self.tok,
            sp: self.sp,
            max_prompt: MAX_PROMPT,
        }
    }

    /// A generated response's text: its tokens without EOS, decoded and cleaned.
    pub fn text(&self, response: &[u32]) -> Result<String> {
        let body: Vec<u32> = response
            .iter()
            .copied()
            .filter(|&t| t != self.sp.eos)
            .collect();
        Ok(crate::model::respond::clean(&self.tok.decode(&body)?))
    }

    /// The tokenizer's fingerprint, which every checkpoint must carry.
    pub fn fingerprint(&self) -> String {
        self.tok.fingerprint()
    }
}

/// The training users from their file's bytes (gzip or not).
fn read_train(bytes: &[u8]) -> Result<Vec<User>> {
    Ok(crate::data::jsonl::read_users_bytes(
        "data/train.jsonl.gz",
        &crate::io::maybe_gunzip(bytes)?,
    )?)
}

/// The gold scorer from the assets folder: `interests.json` and the corpus
/// `trec-queries.tsv` (its attested word pairs); `None` without `interests.json`.
pub fn load_gold(
    assets: &std::path::Path,
    vectors: &crate::vectors::WordVectors,
) -> Result<Option<crate::data::gold::Gold>> {
    if !assets.join("interests.json").exists() {
        return Ok(None);
    }
    let world = crate::data::interests::load(assets, vectors)?;
    let corpus = crate::data::corpus::load(&assets.join("trec-queries.tsv"))?;
    let attested = Some(crate::data::gold::Attested::of(&corpus.queries));
    Ok(Some(crate::data::gold::Gold { world, attested }))
}
