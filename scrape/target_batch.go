package scrape

// parsePooled is Parser.Parse with the output array drawn from t.pool. It
// returns the batch's first reference, which the caller owns (nil without a
// pool): the array goes back to the pool once every reference is released.
// A parse that outgrew the array returns the pooled one at once and makes
// its own larger array the batch, so the pool learns the new size.
func (t *Target) parsePooled(f Format, body []byte, opts ParseOptions) ([]Sample, *BatchRef, error) {
	if t.pool == nil {
		samples, err := t.parser.Parse(f, body, opts)
		return samples, nil, err
	}
	var got []Sample
	opts.Alloc = func(n int) []Sample {
		got = t.pool.get(n)
		return got
	}
	samples, err := t.parser.Parse(f, body, opts)
	if err != nil {
		// No samples were handed out; the parser keeps none of them.
		if got != nil {
			t.pool.put(got)
		}
		return nil, nil, err
	}
	if cap(got) > 0 && cap(samples) > 0 && &got[:1][0] == &samples[:1][0] {
		return samples, newBatch(t.pool, got), nil
	}
	if got != nil {
		t.pool.put(got) // outgrown: the samples moved to a larger array
	}
	if cap(samples) == 0 {
		return samples, nil, nil
	}
	return samples, newBatch(t.pool, samples), nil
}
