//! Text responses from the policy for users: prompts in batches, generation
//! with the KV cache, decoding to `q1; q2; q3` text.

use super::policy::{Policy, SampleConfig};
use super::prompt::Prompter;
use crate::data::User;
use crate::error::Result;
use crate::tokenize::Tok;
use burn::tensor::Device;

/// Control characters to spaces, whitespace collapsed: what a labels file accepts.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Generate one response per user (in batches of `batch`); an empty string where the
/// policy ended at once. The prompter bounds the prompt as in training.
pub async fn respond(
    policy: &Policy,
    prompter: &Prompter<'_>,
    users: &[User],
    cfg: &SampleConfig,
    batch: usize,
    device: &Device,
) -> Result<Vec<String>> {
    let (tok, sp) = (prompter.tok, prompter.sp);
    // The rule's table of separator tokens, built once per call and only when it applies.
    let rule = cfg.no_repeat_query.then(|| NoRepeatQuery::new(tok, sp.eos));
    let blocks = |so_far: &[u32], next: u32| rule.as_ref().is_some_and(|r| r.blocks(so_far, next));
    let blocks: Option<super::policy::Rule<'_>> = rule.is_some().then_some(&blocks);
    let mut out = Vec::with_capacity(users.len());
    for (i, chunk) in users.chunks(batch.max(1)).enumerate() {
        let prompts: Vec<Vec<u32>> = chunk
            .iter()
            .map(|u| prompter.prompt(&u.history).map(|p| p.0))
            .collect::<Result<_>>()?;
        let c = SampleConfig {
            seed: cfg.seed.wrapping_add(i as u64),
            ..*cfg
        };
        for ids in policy
            .generate_scored(&prompts, &c, sp.eos, sp.pad, true, device, blocks)
            .await?
            .tokens
        {
            let body: Vec<u32> = ids.into_iter().filter(|&t| t != sp.eos).collect();
            out.push(clean(&tok.decode(&body)?));
        }
    }
    Ok(out)
}

/// The evaluation's decoding rule (`SampleConfig::no_repeat_query`): a query may
/// not end (a token holding the separator `;`, or the end) while it repeats an
/// earlier query of the same response, by the judge's definition
/// ([`crate::text::repeats`]: its stems all among an earlier query's). The policy
/// must then write on ("free online games" → "free online games for kids").
pub struct NoRepeatQuery<'a> {
    tok: &'a Tok,
    eos: u32,
    /// Per token id: its text holds the separator.
    ends_query: Vec<bool>,
}

impl<'a> NoRepeatQuery<'a> {
    pub fn new(tok: &'a Tok, eos: u32) -> Self {
        let ends_query = (0..tok.vocab_size() as u32)
            .map(|id| {
                tok.decode(&[id])
                    .is_ok_and(|t| t.contains(crate::text::SEP))
            })
            .collect();
        Self {
            tok,
            eos,
            ends_query,
        }
    }

    /// Does `next`, after the response's tokens `so_far`, end a query that repeats
    /// an earlier one?
    pub fn blocks(&self, so_far: &[u32], next: u32) -> bool {
        let ends = next == self.eos || self.ends_query.get(next as usize) == Some(&true);
        if !ends {
            return false;
        }
        let mut ids: Vec<u32> = so_far.iter().copied().filter(|&t| t != self.eos).collect();
        if next != self.eos {
            ids.push(next);
        }
        let Ok(text) = self.tok.decode(&ids) else {
            return false;
        };
        // The queries this token completes: all of them at the end, else those
        // before the last separator (what follows it starts the next query).
        let done = if next == self.eos {
            text.as_str()
        } else {
            text.rfind(crate::text::SEP).map_or("", |k| &text[..k])
        };
        let queries = crate::text::split_response(done);
        crate::text::repeats(&queries)
            .last()
            .is_some_and(Option::is_some)
    }
}

#[cfg(test)]
mod tests {
    use super::NoRepeatQuery;
    use crate::model::prompt::Special;
    use crate::tokenize::Tok;

    #[test]
    fn a_query_may_not_end_while_it_repeats_an_earlier_one() {
        let tok = Tok::load(std::path::Path::new("data/tokenizer.json")).unwrap();
        let eos = Special::of(&tok).unwrap().eos;
        let rule = NoRepeatQuery::new(&tok, eos);
        let ids = |t: &str| tok.encode(t).unwrap().ids;
        let semi = *ids(" ;").last().unwrap();
        assert!(tok.decode(&[semi]).unwrap().contains(';'));
        let word = ids(" kids")[0];
        let blocks = |so_far: &str, next: u32| rule.blocks(&ids(so_far), next);
        // The first query never repeats.
        assert!(!blocks("free online games", semi));
        assert!(!blocks("free online games", eos));
        // The same query again, or one contained in it ("games"): blocked at its end,
        // by a separator or the end of the response.
        for repeat in [
            "free online games; free online games",
            "free online games; games",
        ] {
            assert!(blocks(repeat, semi), "{repeat}");
            assert!(blocks(repeat, eos), "{repeat}");
            // Writing on is allowed.
            assert!(!blocks(repeat, word), "{repeat}");
        }
        // A new query ends freely; so does one that adds a word to an earlier one.
        assert!(!blocks("free online games; cheap flights", semi));
        assert!(!blocks("free online games; free online games kids", eos));
        // Only the query the token ends counts: an earlier repeat is history.
        assert!(!blocks("games online; games online; cheap flights", eos));
    }
}
