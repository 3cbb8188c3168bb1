//! From a user to token ids: the prompt (the formatted history) and the
//! response (the 3 target queries joined by the separator, ended by EOS).
//!
//! ```text
//! prompt   = <bos> (<search>|<click> tokens(text))* <resp>
//! response = tokens("q1; q2; q3") <eos>
//! ```
//!
//! A history longer than `max_prompt` tokens keeps its newest whole events;
//! the number of events left out is returned, never dropped silently.

use crate::data::{EventKind, User};
use crate::error::{Error, Result};
use crate::tokenize::Tok;

/// The prompt budget of the shipped policies, in tokens (`<bos>` … `<resp>`).
pub const MAX_PROMPT: usize = 192;
/// The longest response the shipped models are trained on, in tokens (EOS included).
pub const MAX_RESPONSE: usize = 64;

/// Ids of the special tokens (see [`crate::tokenize::SPECIAL_TOKENS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    pub pad: u32,
    pub bos: u32,
    pub eos: u32,
    pub search: u32,
    pub click: u32,
    pub resp: u32,
}

impl Special {
    pub fn of(tok: &Tok) -> Result<Self> {
        let id = |t: &str| {
            tok.token_id(t)
                .ok_or_else(|| Error::Tokenizer(format!("the tokenizer has no special token {t}")))
        };
        Ok(Self {
            pad: id("<pad>")?,
            bos: id("<bos>")?,
            eos: id("<eos>")?,
            search: id("<search>")?,
            click: id("<click>")?,
            resp: id("<resp>")?,
        })
    }
}

/// The tokenizer, its special ids and the prompt budget, together.
pub struct Prompter<'a> {
    pub tok: &'a Tok,
    pub sp: Special,
    pub max_prompt: usize,
}

impl Prompter<'_> {
    /// See [`prompt`].
    pub fn prompt(&self, history: &[crate::data::Event]) -> Result<(Vec<u32>, usize)> {
        prompt(self.tok, self.sp, history, self.max_prompt)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub prompt: Vec<u32>,
    pub response: Vec<u32>,
    /// Oldest history events left out to fit `max_prompt`.
    pub events_left_out: usize,
}

/// The prompt of a history, keeping the newest whole events within `max_prompt` tokens.
pub fn prompt(
    tok: &Tok,
    sp: Special,
    history: &[crate::data::Event],
    max_prompt: usize,
) -> Result<(Vec<u32>, usize)> {
    let mut events: Vec<Vec<u32>> = Vec::new();
    let mut used = 2; // <bos> … <resp>
    for e in history.iter().rev() {
        let mut ids = vec![if e.kind == EventKind::Search {
            sp.search
        } else {
            sp.click
        }];
        ids.extend(tok.encode(&e.text)?.ids);
        if used + ids.len() > max_prompt {
            break;
        }
        used += ids.len();
        events.push(ids);
    }
    let left_out = history.len() - events.len();
    let mut p = vec![sp.bos];
    for ids in events.into_iter().rev() {
        p.extend(ids);
    }
    p.push(sp.resp);
    Ok((p, left_out))
}

/// The training example of a user: prompt and target response. A target
/// response longer than `max_response` tokens (EOS included) is an error here;
/// [`examples`] skips and counts such users instead.
pub fn example(
    tok: &Tok,
    sp: Special,
    user: &User,
    max_prompt: usize,
    max_response: usize,
) -> Result<Example> {
    match fit(tok, sp, user, max_prompt, max_response)? {
        Ok(e) => Ok(e),
        Err(n) => Err(Error::Invalid(format!(
            "user {}: the target response is {n} tokens, more than max_response = {max_response}",
            user.user_id
        ))),
    }
}

/// The example, or the response's token count when it is over `max_response`.
fn fit(
    tok: &Tok,
    sp: Special,
    user: &User,
    max_prompt: usize,
    max_response: usize,
) -> Result<std::result::Result<Example, usize>> {
    let mut response = tok.encode(&user.target_response())?.ids;
    response.push(sp.eos);
    if response.len() > max_response {
        return Ok(Err(response.len()));
    }
    let (prompt, events_left_out) = prompt(tok, sp, &user.history, max_prompt)?;
    Ok(Ok(Example {
        prompt,
        response,
        events_left_out,
    }))
}

/// The examples of many users, with what did not fit counted, never dropped silently.
#[derive(Debug, Default)]
pub struct Examples {
    pub examples: Vec<Example>,
    /// Users whose oldest history events were left out to fit `max_prompt`.
    pub histories_cut: usize,
    /// Users left out because their target response is longer than `max_response`
    /// tokens: (user id, tokens).
    pub too_long: Vec<(String, usize)>,
}

impl Examples {
    /// One line on what was cut or left out (`what`: "train", "eval"), if anything was.
    pub fn note(&self, what: &str, max_prompt: usize, max_response: usize) -> Option<String> {
        let mut parts = Vec::new();
        if self.histories_cut > 0 {
            parts.push(format!(
                "{} {what} histories were longer than {max_prompt} tokens; their oldest events were left out",
                self.histories_cut
            ));
        }
        if let Some((id, n)) = self.too_long.first() {
            parts.push(format!(
                "{} {what} users were left out: their target response is longer than {max_response} tokens (first: {id}, {n} tokens)",
                self.too_long.len()
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// [`example`] for every user; see [`Examples`].
pub fn examples(
    tok: &Tok,
    sp: Special,
    users: &[User],
    max_prompt: usize,
    max_response: usize,
) -> Result<Examples> {
    let mut out = Examples::default();
    for u in users {
        match fit(tok, sp, u, max_prompt, max_response)? {
            Ok(e) => {
                out.histories_cut += usize::from(e.events_left_out > 0);
                out.examples.push(e);
            }
            Err(n) => out.too_long.push((u.user_id.clone(), n)),
        }
    }
    Ok(out)
}

/// Users that training skips (target response over [`MAX_RESPONSE`] tokens), as
/// warnings naming the line and field, and the count of histories it cuts to
/// [`MAX_PROMPT`] tokens: what `tppo data check` reports.
#[derive(Debug, Default, serde::Serialize)]
pub struct LengthCheck {
    pub too_long: Vec<crate::error::InputError>,
    pub histories_cut: usize,
}

/// [`LengthCheck`] of checked users (`lines`: each user's line in `file`).
pub fn length_check(tok: &Tok, file: &str, users: &[User], lines: &[usize]) -> Result<LengthCheck> {
    let sp = Special::of(tok)?;
    let mut out = LengthCheck::default();
    for (u, &line) in users.iter().zip(lines) {
        let n = tok.encode(&u.target_response())?.ids.len() + 1;
        if n > MAX_RESPONSE {
            out.too_long.push(crate::error::InputError::new(
                file,
                line,
                "targets",
                format!("the target response is {n} tokens (EOS included), more than the {MAX_RESPONSE} the models take: training and labeling skip this user"),
            ));
        }
        out.histories_cut += usize::from(prompt(tok, sp, &u.history, MAX_PROMPT)?.1 > 0);
    }
    Ok(out)
}
