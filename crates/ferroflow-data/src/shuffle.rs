//! `Dataset.shuffle`: a bounded buffer sampled at random.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, Result};

/// Shuffles with a buffer: fills it with `buffer_size` elements, then repeatedly returns a random one
/// and puts the next input element in its place.
///
/// Mirrors `Dataset.shuffle(buffer_size, seed, reshuffle_each_iteration)`. Seeds are TF's
/// `(seed, seed2)` pair (from `GraphBuilder::random_seeds`); `(0, 0)` draws a random seed. With
/// `reshuffle_each_iteration`, each iteration (each epoch of an enclosing `repeat`, each
/// re-initialization) gets another order, derived from the seed. Differences: the random stream is
/// ours (xoshiro256**), so orders differ from TF's for the same seed; buffer contents and the
/// generator's state are part of the iterator state, so a restored iterator continues exactly.
#[derive(Debug)]
pub struct ShuffleDataset {
    input: DatasetRef,
    buffer_size: usize,
    seed: (i64, i64),
    reshuffle: bool,
}

impl ShuffleDataset {
    /// `input.shuffle(buffer_size, seed, reshuffle_each_iteration)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero buffer size.
    pub fn new(
        input: DatasetRef,
        buffer_size: usize,
        seed: (i64, i64),
        reshuffle: bool,
    ) -> Result<ShuffleDataset> {
        if buffer_size == 0 {
            return Err(Error::invalid_argument("buffer_size must be greater than zero."));
        }
        let seed = if seed == (0, 0) { (rand::random::<i64>(), rand::random::<i64>()) } else { seed };
        Ok(ShuffleDataset { input, buffer_size, seed, reshuffle })
    }
}

/// xoshiro256**: small, fast, and its whole state is four words we can save.
#[derive(Clone, Debug, PartialEq)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the tiny bias is irrelevant for shuffling).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

struct ShuffleIterator {
    input: Box<dyn DatasetIterator>,
    buffer: Vec<Element>,
    buffer_size: usize,
    input_done: bool,
    rng: Rng,
}

impl Dataset for ShuffleDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        let salt = if self.reshuffle { ctx.iteration } else { 0 };
        let seed = (self.seed.0 as u64).rotate_left(32)
            ^ (self.seed.1 as u64)
            ^ salt.wrapping_mul(0xd605_bbb5_8c8a_bbfd);
        Ok(Box::new(ShuffleIterator {
            // The input is iterated once per shuffle iteration; it never reshuffles on its own.
            input: self.input.make_iterator(ctx)?,
            buffer: Vec::with_capacity(self.buffer_size.min(1 << 16)),
            buffer_size: self.buffer_size,
            input_done: false,
            rng: Rng::new(seed),
        }))
    }
}

impl DatasetIterator for ShuffleIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        while !self.input_done && self.buffer.len() < self.buffer_size {
            match self.input.next()? {
                Some(e) => self.buffer.push(e),
                None => self.input_done = true,
            }
        }
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let i = self.rng.below(self.buffer.len());
        Ok(Some(self.buffer.swap_remove(i)))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("shuffle");
        for word in self.rng.0 {
            w.u64(word);
        }
        w.bool(self.input_done);
        w.u64(self.buffer.len() as u64);
        for e in &self.buffer {
            w.element(e);
        }
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("shuffle")?;
        for word in &mut self.rng.0 {
            *word = r.u64()?;
        }
        self.input_done = r.bool()?;
        let n = r.usize()?;
        self.buffer.clear();
        for _ in 0..n {
            self.buffer.push(r.element()?);
        }
        self.input.restore(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 5];
        for _ in 0..200 {
            let i = rng.below(5);
            assert!(i < 5);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
