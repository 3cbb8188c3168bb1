//! Tokenizer and the word→token mapping of labels (paper §3.2, Fig. 3 phase II).
//!
//! Any `tokenizer.json` of the `tokenizers` crate works (BPE, WordPiece,
//! Unigram): the mapping reads only token byte offsets. A token takes the class
//! of the labeled word its span overlaps most (ties: the higher class); a
//! token that overlaps no labeled word (special tokens, spaces) gets class 0.
//! So every token inside a word carries that word's class — "relevant" → 2
//! gives "re","levant" → 2,2 in one tokenizer and "relev","ant" → 2,2 in another.
//!
//! The bundled tokenizer is a byte-level BPE trained on the training corpus
//! (`tppo tokenizer train`), with the special tokens in [`SPECIAL_TOKENS`].

use crate::error::{Error, Result};
use crate::text::Span;
use tokenizers::Tokenizer;

/// Special tokens of the bundled tokenizer, ids 0.. in this order.
pub const SPECIAL_TOKENS: [&str; 6] = ["<pad>", "<bos>", "<eos>", "<search>", "<click>", "<resp>"];

/// A labeled span of text: a word and its class (0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabeledSpan {
    pub span: Span,
    pub class: u8,
}

impl From<&crate::labeler::WordLabel> for LabeledSpan {
    fn from(w: &crate::labeler::WordLabel) -> Self {
        LabeledSpan {
            span: Span {
                start: w.start,
                end: w.end,
            },
            class: w.class,
        }
    }
}

/// Word classes → token classes, from the tokens' byte offsets.
pub fn token_classes(offsets: &[(usize, usize)], words: &[LabeledSpan]) -> Vec<u8> {
    offsets
        .iter()
        .map(|&(s, e)| {
            let mut best: Option<(usize, u8)> = None;
            for w in words {
                let overlap = e.min(w.span.end).saturating_sub(s.max(w.span.start));
                if overlap > 0
                    && best.is_none_or(|(o, c)| overlap > o || (overlap == o && w.class > c))
                {
                    best = Some((overlap, w.class));
                }
            }
            best.map_or(0, |b| b.1)
        })
        .collect()
}

/// An encoded text: token ids and their byte offsets in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
    pub tokens: Vec<String>,
}

#[derive(Clone)]
pub struct Tok {
    inner: Tokenizer,
}

impl Tok {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let inner = Tokenizer::from_bytes(bytes)
            .map_err(|e| Error::Tokenizer(format!("not a tokenizer.json: {e}")))?;
        Ok(Self { inner })
    }

    pub fn load(path: &std::path::Path) -> Result<Self> {
        Self::from_bytes(&crate::io::read_file(path)?)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Encode without special tokens; offsets are byte offsets into `text`.
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Encoded {
            ids: enc.get_ids().to_vec(),
            offsets: enc.get_offsets().to_vec(),
            tokens: enc.get_tokens().to_vec(),
        })
    }

    /// Encode `text` and give each token the class of its word.
    pub fn encode_labeled(&self, text: &str, words: &[LabeledSpan]) -> Result<(Encoded, Vec<u8>)> {
        let enc = self.encode(text)?;
        let classes = token_classes(&enc.offsets, words);
        Ok((enc, classes))
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The word of each token of `ids` (an index into [`crate::text::words`] of the
    /// decoded text), for generated tokens that have no offsets: token i covers the bytes
    /// between the decoded lengths of `ids[..i]` and `ids[..=i]`. `None` where a token
    /// decodes to nothing (special tokens) or only to spaces.
    pub fn word_of_tokens(&self, ids: &[u32]) -> Result<Vec<Option<usize>>> {
        let text = self.decode(ids)?;
        let words = crate::text::words(&text);
        let mut out = Vec::with_capacity(ids.len());
        let mut start = 0;
        for i in 0..ids.len() {
            let end = self.decode(&ids[..=i])?.len().min(text.len()).max(start);
            out.push(words.iter().position(|w| w.start < end && w.end > start));
            start = end;
        }
        Ok(out)
    }

    /// SHA-256-free fingerprint of the tokenizer's JSON (FNV-1a, hex), for checkpoints to check against.
    pub fn fingerprint(&self) -> String {
        let json = self.inner.to_string(false).unwrap_or_default();
        let mut h: u64 = 0xcbf29ce484222325;
        for b in json.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("{h:016x}")
    }
}

/// Train a byte-level BPE with `vocab` tokens on `texts`; returns the tokenizer.json text.
pub fn train_bpe<I, S>(texts: I, vocab: usize) -> Result<String>
where
    I: Iterator<Item = S> + Send,
    S: AsRef<str> + Send,
{
    use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::{AddedToken, TokenizerBuilder};
    let err = |e: tokenizers::Error| Error::Tokenizer(e.to_string());
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(
            SPECIAL_TOKENS
                .iter()
                .map(|t| AddedToken::from(*t, true))
                .collect(),
        )
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tok = TokenizerBuilder::<
        BPE,
        tokenizers::NormalizerWrapper,
        ByteLevel,
        ByteLevel,
        ByteLevel,
    >::new()
    .with_model(BPE::default())
    .with_pre_tokenizer(Some(ByteLevel::new(true, true, true)))
    .with_post_processor(Some(ByteLevel::new(true, true, true)))
    .with_decoder(Some(ByteLevel::default()))
    .build()
    .map_err(err)?;
    tok.train(&mut trainer, texts).map_err(err)?;
    tok.to_string(false).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, class: u8) -> LabeledSpan {
        LabeledSpan {
            span: Span { start, end },
            class,
        }
    }

    #[test]
    fn mapping_by_hand() {
        // "cheap relevant; x" with words cheap[0,5)=1, relevant[6,14)=2, ;[14,15)=0, x[16,17)=1
        let words = [
            span(0, 5, 1),
            span(6, 14, 2),
            span(14, 15, 0),
            span(16, 17, 1),
        ];
        // tokens: "cheap", " re", "levant", ";", " x", a special token (0,0)
        let offsets = [(0, 5), (5, 8), (8, 14), (14, 15), (15, 17), (0, 0)];
        assert_eq!(token_classes(&offsets, &words), vec![1, 2, 2, 0, 1, 0]);
        // A token over two words takes the larger overlap; ties go to the higher class.
        assert_eq!(token_classes(&[(3, 8)], &words), vec![2]);
        assert_eq!(token_classes(&[(2, 8)], &words), vec![1]);
        assert_eq!(token_classes(&[(4, 7)], &words), vec![2]);
    }
}
