package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// TestPodSetChurn: the benchmark's pods are what it says: n pods, the
// first ones annotated for the targets; churn keeps the pod count (as many
// creates as deletes) and never changes what the recipe reads of a
// scraped pod.
func TestPodSetChurn(t *testing.T) {
	api := kubetest.NewServer(kubetest.Options{})
	defer api.Close()
	urls := []string{"http://127.0.0.1:9101/metrics", "http://127.0.0.1:9102/metrics"}
	s, err := newPodSet(api, 50, urls)
	if err != nil {
		t.Fatal(err)
	}
	if s.avgBytes < 3000 {
		t.Errorf("pods of %d bytes of JSON: want the size of real ones", s.avgBytes)
	}
	count := func() (all, scraped int) {
		resp, err := http.Get(api.URL() + "/api/v1/pods")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l podList
		if err := l.decode(resp.Body); err != nil {
			t.Fatal(err)
		}
		for _, p := range l.Items {
			if p.Metadata.Annotations["prometheus.io/scrape"] == "true" {
				scraped++
				if p.Metadata.Labels["version"] != "v1" || p.Status.PodIP != "127.0.0.1" {
					t.Errorf("scraped pod %s changed: %v %s", p.Metadata.Name, p.Metadata.Labels, p.Status.PodIP)
				}
			}
		}
		return len(l.Items), scraped
	}
	if all, scraped := count(); all != 50 || scraped != 2 {
		t.Fatalf("%d pods, %d scraped; want 50 and 2", all, scraped)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for n := range 100 {
		if err := s.change(r, n); err != nil {
			t.Fatal(err)
		}
	}
	if all, scraped := count(); all != 50 || scraped != 2 {
		t.Errorf("after churn: %d pods, %d scraped; want 50 and 2", all, scraped)
	}
}

// podList is the part of a PodList the test reads.
type podList struct {
	Items []struct {
		Metadata struct {
			Name        string
			Labels      map[string]string
			Annotations map[string]string
		}
		Status struct{ PodIP string }
	}
}

func (l *podList) decode(r io.Reader) error { return json.NewDecoder(r).Decode(l) }
