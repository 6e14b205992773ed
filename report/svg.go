package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are hand-written inline SVG: the HTML report must open from a
// mail attachment with nothing fetched, so there is no chart library.
// Builders turn values into geometry (Chart); charts.tmpl draws it, and
// html/template escapes every label.

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value float64
}

// Series is one line of a line chart: a value per x label.
type Series struct {
	Name   string
	Values []float64
}

// Chart is a drawn chart: its geometry in SVG user units.
type Chart struct {
	ID       string
	Title    string
	Question string // the sentence under the chart: what it answers
	Width    int
	Height   int
	Plot     Rect // the plotting area inside the axes
	YTicks   []Tick
	XTicks   []Tick
	Bars     []Rect
	Lines    []Line
	// Horizontal bar charts put their category labels on the y axis.
	Horizontal bool
	Empty      bool
}

// Rect is a bar, or the plot area.
type Rect struct {
	X, Y, W, H float64
	Label      string // the category
	Value      string // the formatted value, drawn at the bar's end
	Color      string
}

// Tick is an axis tick: its position along the axis and its label.
type Tick struct {
	Pos   float64
	Label string
}

// Line is one series drawn as a path; Dots stand in for a path of a single
// point, which would draw nothing.
type Line struct {
	Name  string
	D     string
	Color string
	Dots  []Point
}

// Point is a point of a line.
type Point struct{ X, Y float64 }

// palette is colour-blind-safe (Okabe–Ito) and prints in grey distinctly.
var palette = []string{"#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000"}

const (
	chartWidth  = 720
	chartHeight = 260
	marginTop   = 16
	marginRight = 16
	marginBot   = 36
	marginLeft  = 56
	// hbarLabelWidth is the room for category labels of horizontal bars.
	hbarLabelWidth = 230
	hbarRow        = 26
)

// BarChart draws vertical bars, one per category, on a y axis from zero.
func BarChart(id, title, question string, bars []Bar) Chart {
	c := Chart{ID: id, Title: title, Question: question, Width: chartWidth, Height: chartHeight}
	c.Plot = Rect{X: marginLeft, Y: marginTop, W: chartWidth - marginLeft - marginRight, H: chartHeight - marginTop - marginBot}
	c.Empty = len(bars) == 0
	top, ticks := axis(maxBar(bars))
	for _, t := range ticks {
		c.YTicks = append(c.YTicks, Tick{Pos: round(c.Plot.Y + c.Plot.H - t/top*c.Plot.H), Label: formatCount(t)})
	}
	if c.Empty {
		return c
	}
	slot := c.Plot.W / float64(len(bars))
	for i, b := range bars {
		h := b.Value / top * c.Plot.H
		x := c.Plot.X + float64(i)*slot
		c.Bars = append(c.Bars, Rect{
			X: round(x + slot*0.15), Y: round(c.Plot.Y + c.Plot.H - h), W: round(slot * 0.7), H: round(h),
			Label: b.Label, Value: formatCount(b.Value), Color: palette[0],
		})
		c.XTicks = append(c.XTicks, Tick{Pos: round(x + slot/2), Label: b.Label})
	}
	return c
}

// HBarChart draws horizontal bars, one row per category: for long
// category names such as rule names.
func HBarChart(id, title, question string, bars []Bar) Chart {
	rows := max(len(bars), 1)
	c := Chart{ID: id, Title: title, Question: question, Width: chartWidth, Horizontal: true}
	c.Height = marginTop + rows*hbarRow + marginBot
	c.Plot = Rect{X: hbarLabelWidth, Y: marginTop, W: chartWidth - hbarLabelWidth - marginRight - 40, H: float64(rows * hbarRow)}
	c.Empty = len(bars) == 0
	top, ticks := axis(maxBar(bars))
	for _, t := range ticks {
		c.XTicks = append(c.XTicks, Tick{Pos: round(c.Plot.X + t/top*c.Plot.W), Label: formatCount(t)})
	}
	for i, b := range bars {
		y := c.Plot.Y + float64(i*hbarRow)
		c.Bars = append(c.Bars, Rect{
			X: c.Plot.X, Y: round(y + 4), W: round(b.Value / top * c.Plot.W), H: hbarRow - 8,
			Label: b.Label, Value: formatCount(b.Value), Color: palette[3],
		})
		c.YTicks = append(c.YTicks, Tick{Pos: round(y + hbarRow/2), Label: b.Label})
	}
	return c
}

// LineChart draws one line per series over the x labels (days), with at
// most about ten x labels shown.
func LineChart(id, title, question string, x []string, series []Series) Chart {
	c := Chart{ID: id, Title: title, Question: question, Width: chartWidth, Height: chartHeight}
	c.Plot = Rect{X: marginLeft, Y: marginTop, W: chartWidth - marginLeft - marginRight, H: chartHeight - marginTop - marginBot}
	var hi float64
	for _, s := range series {
		for _, v := range s.Values {
			hi = math.Max(hi, v)
		}
	}
	c.Empty = len(x) == 0 || len(series) == 0
	top, ticks := axis(hi)
	for _, t := range ticks {
		c.YTicks = append(c.YTicks, Tick{Pos: round(c.Plot.Y + c.Plot.H - t/top*c.Plot.H), Label: formatCount(t)})
	}
	if c.Empty {
		return c
	}
	xAt := func(i int) float64 {
		if len(x) == 1 {
			return c.Plot.X + c.Plot.W/2
		}
		return c.Plot.X + float64(i)*c.Plot.W/float64(len(x)-1)
	}
	every := (len(x) + 9) / 10
	for i, l := range x {
		if i%every == 0 {
			c.XTicks = append(c.XTicks, Tick{Pos: round(xAt(i)), Label: l})
		}
	}
	for si, s := range series {
		ln := Line{Name: s.Name, Color: palette[si%len(palette)]}
		var d strings.Builder
		for i, v := range s.Values {
			if i >= len(x) {
				break
			}
			cmd := 'L'
			if i == 0 {
				cmd = 'M'
			}
			fmt.Fprintf(&d, "%c%g %g", cmd, round(xAt(i)), round(c.Plot.Y+c.Plot.H-v/top*c.Plot.H))
		}
		ln.D = d.String()
		if len(x) == 1 && len(s.Values) > 0 {
			ln.Dots = []Point{{X: round(xAt(0)), Y: round(c.Plot.Y + c.Plot.H - s.Values[0]/top*c.Plot.H)}}
		}
		c.Lines = append(c.Lines, ln)
	}
	return c
}

// SVG renders the chart as an inline <svg> element.
func (c Chart) SVG() (template.HTML, error) {
	var b bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&b, "chart", c); err != nil {
		return "", fmt.Errorf("chart %s: %w", c.ID, err)
	}
	return template.HTML(b.String()), nil // escaped by the template
}

func maxBar(bars []Bar) float64 {
	var hi float64
	for _, b := range bars {
		hi = math.Max(hi, b.Value)
	}
	return hi
}

// axis picks a top of the value axis at or above hi and its ticks: about
// five steps of 1, 2, 2.5 or 5 times a power of ten, whole numbers (every
// chart counts).
func axis(hi float64) (top float64, ticks []float64) {
	step := 1.0
	if hi > 5 {
		raw := hi / 5
		p := math.Pow(10, math.Floor(math.Log10(raw)))
		for _, m := range []float64{1, 2, 2.5, 5, 10} {
			if m*p >= raw && (m != 2.5 || p >= 10) {
				step = m * p
				break
			}
		}
	}
	top = math.Max(step, math.Ceil(hi/step)*step)
	for t := 0.0; t <= top+step/2; t += step {
		ticks = append(ticks, t)
	}
	return top, ticks
}

func round(v float64) float64 { return math.Round(v*10) / 10 }

// formatCount writes a count with thousands separators: 12,345.
func formatCount(v float64) string {
	n := int64(math.Round(v))
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + formatCount(-v)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
