//! Pretrained word vectors (GloVe 6B, 50 dimensions; provenance in
//! `data/PROVENANCE.md`), stored as a safetensors file with one float16 tensor
//! `vectors` [n, d] and a vocabulary file with one word per line, row order.
//! Rows are normalised to unit length on load, so a dot product is a cosine.

use crate::error::{Error, Result};
use std::collections::HashMap;

#[derive(Clone)]
pub struct WordVectors {
    dim: usize,
    /// Unit-length rows, `n × dim`, row-major.
    data: Vec<f32>,
    index: HashMap<String, u32>,
    words: Vec<String>,
}

impl WordVectors {
    /// Load from the safetensors bytes and the vocabulary text.
    pub fn from_bytes(safetensors: &[u8], vocab: &str) -> Result<Self> {
        let st = safetensors::SafeTensors::deserialize(safetensors)
            .map_err(|e| Error::Invalid(format!("word vectors: not a safetensors file: {e}")))?;
        let t = st
            .tensor("vectors")
            .map_err(|e| Error::Invalid(format!("word vectors: no tensor `vectors`: {e}")))?;
        let shape = t.shape().to_vec();
        if shape.len() != 2 {
            return Err(Error::Invalid(format!(
                "word vectors: expected a 2-d tensor, found shape {shape:?}"
            )));
        }
        let (n, dim) = (shape[0], shape[1]);
        let raw: Vec<f32> = match t.dtype() {
            safetensors::Dtype::F16 => t
                .data()
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            safetensors::Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            d => {
                return Err(Error::Invalid(format!(
                    "word vectors: expected f16 or f32, found {d:?}"
                )));
            }
        };
        let words: Vec<String> = vocab.lines().map(|w| w.trim().to_string()).collect();
        if words.len() != n {
            return Err(Error::Invalid(format!(
                "word vectors: the vocabulary has {} words but the tensor has {n} rows",
                words.len()
            )));
        }
        let mut data = raw;
        for row in data.chunks_exact_mut(dim) {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|x| *x /= norm);
        }
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(Self {
            dim,
            data,
            index,
            words,
        })
    }

    /// From words and their vectors (normalised here), for tests and small worlds.
    pub fn from_rows(rows: &[(&str, &[f32])]) -> Self {
        let dim = rows.first().map_or(0, |r| r.1.len());
        let mut data = Vec::with_capacity(rows.len() * dim);
        for (_, v) in rows {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            data.extend(v.iter().map(|x| x / norm));
        }
        let words: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Self {
            dim,
            data,
            index,
            words,
        }
    }

    /// Load the bundled files from a directory (`data/`).
    pub fn load_dir(dir: &std::path::Path) -> Result<Self> {
        let st = crate::io::read_file(&dir.join("glove-6b-50d.safetensors"))?;
        let vocab_path = dir.join("glove-6b-50d-vocab.txt");
        let vocab = String::from_utf8(crate::io::read_file(&vocab_path)?).map_err(|_| {
            Error::Invalid(format!("{}: expected UTF-8 text", vocab_path.display()))
        })?;
        Self::from_bytes(&st, &vocab)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Row id of a word (lower-case); `mcdonald's` falls back to `mcdonald`.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied().or_else(|| {
            let stem = word.split('\'').next()?;
            self.index.get(stem).copied()
        })
    }

    pub fn vector(&self, id: u32) -> &[f32] {
        let i = id as usize * self.dim;
        &self.data[i..i + self.dim]
    }

    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.id(word).map(|i| self.vector(i))
    }

    /// Cosine similarity of two known words.
    pub fn cosine(&self, a: &str, b: &str) -> Option<f32> {
        Some(dot(self.get(a)?, self.get(b)?))
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
