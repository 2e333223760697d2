package scrape

// CheckLimits applies lim to samples that have already been through metric
// relabeling, as Prometheus applies sample_limit, label_limit,
// label_name_length_limit and label_value_length_limit: exceeding any fails
// the whole scrape with a *LimitError. Target labels count, the metric name
// counts as a label (label_limit) and as a value (value length).
func CheckLimits(samples []Sample, lim Limits) error {
	if lim.MaxSamples > 0 && len(samples) > lim.MaxSamples {
		return &LimitError{Limit: "sample", Max: lim.MaxSamples}
	}
	if lim.MaxLabels == 0 && lim.MaxLabelNameLen == 0 && lim.MaxLabelValueLen == 0 {
		return nil
	}
	var last LabelSet // samples of one series group share their label set
	for i := range samples {
		ls := samples[i].Labels
		if ls.Len() > 0 && last.Same(ls) && lim.MaxLabelValueLen == 0 {
			continue
		}
		if err := checkLabelLimits(&lim, samples[i].Name, ls); err != nil {
			return err
		}
		last = ls
	}
	return nil
}
