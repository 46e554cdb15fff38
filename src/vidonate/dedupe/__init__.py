"""Near-duplicate detection for donated clips: perceptual frame hashes and a hash index."""
