package report

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestBarChart(t *testing.T) {
	plotH := float64(chartHeight - marginTop - marginBot)
	tests := []struct {
		name    string
		bars    []Bar
		heights []float64 // of the drawn bars, as a share of the plot height
		top     string    // label of the highest y tick
		empty   bool
	}{
		{name: "bars scale to the axis top, a nice number at or above the highest",
			bars: []Bar{{"0", 50}, {"1", 100}, {"2", 25}}, heights: []float64{0.5, 1, 0.25}, top: "100"},
		{name: "highest between ticks: the axis goes up to the next step",
			bars: []Bar{{"a", 30}, {"b", 45}}, heights: []float64{30.0 / 50, 45.0 / 50}, top: "50"},
		{name: "one value fills the plot", bars: []Bar{{"only", 7}}, heights: []float64{7.0 / 8}, top: "8"},
		{name: "all zero draws zero-height bars on an axis of 0..1",
			bars: []Bar{{"0", 0}, {"1", 0}}, heights: []float64{0, 0}, top: "1"},
		{name: "no data draws the axes and says so", bars: nil, top: "1", empty: true},
		{name: "large counts get thousands separators",
			bars: []Bar{{"x", 12000}}, heights: []float64{12000.0 / 12500}, top: "12,500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := BarChart("c", "Title", "What it answers.", tt.bars)
			if c.Empty != tt.empty {
				t.Errorf("Empty = %v, want %v", c.Empty, tt.empty)
			}
			if len(c.Bars) != len(tt.heights) {
				t.Fatalf("%d bars, want %d", len(c.Bars), len(tt.heights))
			}
			for i, b := range c.Bars {
				if got := b.H / plotH; abs64(got-tt.heights[i]) > 0.002 {
					t.Errorf("bar %d height %.3f of the plot, want %.3f", i, got, tt.heights[i])
				}
				if bottom := b.Y + b.H; abs64(bottom-(c.Plot.Y+c.Plot.H)) > 0.1 {
					t.Errorf("bar %d stands at y %.1f, want on the x axis at %.1f", i, bottom, c.Plot.Y+c.Plot.H)
				}
			}
			if got := c.YTicks[len(c.YTicks)-1].Label; got != tt.top {
				t.Errorf("top tick %q, want %q", got, tt.top)
			}
			if c.YTicks[0].Label != "0" {
				t.Errorf("axis starts at %q, want 0", c.YTicks[0].Label)
			}
			svg := render(t, c)
			if got := strings.Count(svg, `<rect class="bar"`); got != len(tt.bars) {
				t.Errorf("%d <rect> bars drawn, want %d", got, len(tt.bars))
			}
			if got := strings.Contains(svg, "no data in this period"); got != tt.empty {
				t.Errorf("says no data: %v, want %v", got, tt.empty)
			}
		})
	}
}

func TestHBarChartScalesBarsAlongX(t *testing.T) {
	c := HBarChart("rules", "Flags by rule", "q", []Bar{{"repeated_calls_before_purchase", 40}, {"long_call_wait", 10}})
	if len(c.Bars) != 2 || c.Bars[0].W != c.Plot.W || c.Bars[1].W != round(c.Plot.W/4) {
		t.Errorf("bar widths %v, want the plot width %v and a quarter of it", c.Bars, c.Plot.W)
	}
	if c.YTicks[0].Label != "repeated_calls_before_purchase" {
		t.Errorf("category labels %v, want the rules on the y axis", c.YTicks)
	}
	if c.Height <= HBarChart("one", "t", "q", []Bar{{"a", 1}}).Height {
		t.Error("a chart of more rules is not taller")
	}
}

func TestLineChart(t *testing.T) {
	tests := []struct {
		name   string
		x      []string
		series []Series
		paths  []string
		dots   int
		empty  bool
	}{
		{name: "a line per series from the first day to the last",
			x: []string{"Jan 1", "Jan 2", "Jan 3"}, series: []Series{{"web", []float64{0, 4, 2}}, {"phone", []float64{1, 1, 1}}},
			paths: []string{"M56 224L380 16L704 120", "M56 172L380 172L704 172"}},
		{name: "one day: a dot, since a one-point path draws nothing",
			x: []string{"Jan 1"}, series: []Series{{"web", []float64{3}}}, paths: []string{"M380 16"}, dots: 1},
		{name: "no days", x: nil, series: []Series{{"web", nil}}, empty: true},
		{name: "no series", x: []string{"Jan 1"}, series: nil, empty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := LineChart("l", "Lines", "q", tt.x, tt.series)
			if c.Empty != tt.empty {
				t.Errorf("Empty = %v, want %v", c.Empty, tt.empty)
			}
			var paths []string
			dots := 0
			for _, l := range c.Lines {
				paths = append(paths, l.D)
				dots += len(l.Dots)
			}
			if strings.Join(paths, "|") != strings.Join(tt.paths, "|") {
				t.Errorf("paths %q, want %q", paths, tt.paths)
			}
			if dots != tt.dots {
				t.Errorf("%d dots, want %d", dots, tt.dots)
			}
			render(t, c)
		})
	}
}

func TestLineChartShowsAboutTenDayLabels(t *testing.T) {
	x := make([]string, 31)
	for i := range x {
		x[i] = "d"
	}
	c := LineChart("l", "t", "q", x, []Series{{"web", make([]float64, 31)}})
	if n := len(c.XTicks); n < 8 || n > 11 {
		t.Errorf("%d x labels over 31 days, want about 10", n)
	}
}

func TestChartLabelsAreEscaped(t *testing.T) {
	evil := `<script>alert("x")</script>&`
	charts := []Chart{
		BarChart("b", evil, evil, []Bar{{evil, 1}}),
		HBarChart("h", evil, evil, []Bar{{evil, 1}}),
		LineChart("l", evil, evil, []string{evil}, []Series{{evil, []float64{1}}}),
	}
	for _, c := range charts {
		svg := render(t, c)
		if strings.Contains(svg, "<script") {
			t.Errorf("chart %s carries the label unescaped:\n%s", c.ID, svg)
		}
		if !strings.Contains(svg, "&lt;script&gt;") {
			t.Errorf("chart %s lost the label:\n%s", c.ID, svg)
		}
	}
}

func TestAxis(t *testing.T) {
	tests := []struct {
		hi, top float64
		ticks   int
	}{
		{0, 1, 2}, {1, 1, 2}, {4, 4, 5}, {5, 5, 6}, {7, 8, 5}, {9, 10, 6}, {100, 100, 6}, {101, 125, 6}, {2345, 2500, 6},
	}
	for _, tt := range tests {
		top, ticks := axis(tt.hi)
		if top != tt.top || len(ticks) != tt.ticks {
			t.Errorf("axis(%v) = %v %v, want top %v and %d ticks", tt.hi, top, ticks, tt.top, tt.ticks)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1500: "-1,500", 2.6: "3"} {
		if got := formatCount(v); got != want {
			t.Errorf("formatCount(%v) = %q, want %q", v, got, want)
		}
	}
}

// render draws the chart and checks it is well-formed XML with an
// accessible name.
func render(t *testing.T, c Chart) string {
	t.Helper()
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	start, end := strings.Index(s, "<svg"), strings.Index(s, "</svg>")
	if start < 0 || end < 0 {
		t.Fatalf("no <svg> element:\n%s", s)
	}
	d := xml.NewDecoder(strings.NewReader(s[start : end+len("</svg>")]))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("svg is not well-formed: %v\n%s", err, s)
			}
			break
		}
	}
	if !strings.Contains(s, `role="img" aria-label="`) || !strings.Contains(s, "<title>") {
		t.Errorf("svg has no accessible name:\n%s", s)
	}
	return s
}

func abs64(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
