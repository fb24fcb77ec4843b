package admin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// chart is an SVG chart laid out in Go and drawn by the "chart" template:
// polylines with a circle per point whose <title> is the hover text, bars,
// axis labels and an optional threshold line.
type chart struct {
	Label         string
	Width, Height int
	// The plot area inside the axes.
	Left, Top, Right, Bottom float64
	// LabelX is where y-axis labels end, LabelY the x-axis labels' baseline.
	LabelX, LabelY float64
	Lines          []chartLine
	Bars           []chartBar
	YTicks         []chartTick
	XTicks         []chartTick
	Threshold      *chartTick
	Empty          bool
}

type chartLine struct {
	Name   string
	Class  string
	D      string
	Points []chartPoint
}

type chartPoint struct {
	X, Y  float64
	Title string
}

type chartBar struct {
	X, Y, W, H float64
	Title      string
}

type chartTick struct {
	Pos   float64
	Label string
	// Anchor is the x label's text-anchor: start, middle or end, so the
	// first and last labels stay inside the chart.
	Anchor string
}

// chartSeries is one line's values, one per x position (NaN: no point).
type chartSeries struct {
	Name   string
	Class  string
	Values []float64
	// Titles are the hover texts, one per value.
	Titles []string
}

// chartSpec describes a chart to lay out.
type chartSpec struct {
	Label         string
	Width, Height int
	Times         []time.Time
	Lines         []chartSeries
	// Bars, when set, are drawn behind the lines on their own scale.
	Bars      []float64
	BarTitles []string
	// YFormat labels the y axis; YMin is the least top of the scale.
	YFormat   func(float64) string
	YMin      float64
	Threshold float64
	// ThresholdLabel, when set, draws a dashed line at Threshold.
	ThresholdLabel string
}

// layout computes the chart's geometry.
func layout(s chartSpec) chart {
	c := chart{Label: s.Label, Width: s.Width, Height: s.Height, Left: 48, Top: 8, Right: float64(s.Width) - 8,
		Bottom: float64(s.Height) - 22, LabelX: 44, LabelY: float64(s.Height) - 6}
	n := len(s.Times)
	top := s.YMin
	for _, l := range s.Lines {
		for _, v := range l.Values {
			if !math.IsNaN(v) && v > top {
				top = v
			}
		}
	}
	if s.ThresholdLabel != "" {
		top = max(top, s.Threshold*1.5)
	}
	top = niceCeil(top)
	if n == 0 || top <= 0 {
		c.Empty = true
		return c
	}
	w, h := c.Right-c.Left, c.Bottom-c.Top
	x := func(i int) float64 { return c.Left + (float64(i)+0.5)*w/float64(n) }
	y := func(v float64) float64 { return c.Bottom - v/top*h }

	if len(s.Bars) == n {
		barTop := 0.0
		for _, v := range s.Bars {
			barTop = max(barTop, v)
		}
		if barTop > 0 {
			bw := math.Max(1, w/float64(n)*0.7)
			for i, v := range s.Bars {
				if v <= 0 {
					continue
				}
				bh := v / barTop * h * 0.9
				title := ""
				if i < len(s.BarTitles) {
					title = s.BarTitles[i]
				}
				c.Bars = append(c.Bars, chartBar{X: round1(x(i) - bw/2), Y: round1(c.Bottom - bh), W: round1(bw), H: round1(bh), Title: title})
			}
		}
	}
	for _, l := range s.Lines {
		line := chartLine{Name: l.Name, Class: l.Class}
		var d strings.Builder
		pen := false
		for i, v := range l.Values {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			px, py := round1(x(i)), round1(y(v))
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				d.WriteString("M")
			}
			fmt.Fprintf(&d, "%s %s", fmtCoord(px), fmtCoord(py))
			pen = true
			title := ""
			if i < len(l.Titles) {
				title = l.Titles[i]
			}
			line.Points = append(line.Points, chartPoint{X: px, Y: py, Title: title})
		}
		line.D = d.String()
		c.Lines = append(c.Lines, line)
	}
	format := s.YFormat
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	}
	for _, f := range []float64{0, 0.5, 1} {
		c.YTicks = append(c.YTicks, chartTick{Pos: round1(y(top * f)), Label: format(top * f)})
	}
	if s.ThresholdLabel != "" {
		c.Threshold = &chartTick{Pos: round1(y(s.Threshold)), Label: s.ThresholdLabel}
	}
	span := s.Times[n-1].Sub(s.Times[0])
	timeFormat := "15:04"
	if span < 10*time.Minute {
		timeFormat = "15:04:05"
	} else if span > 36*time.Hour {
		timeFormat = "Jan 2"
	}
	for j, i := range []int{0, n / 2, n - 1} {
		label := s.Times[i].UTC().Format(timeFormat)
		if len(c.XTicks) > 0 && c.XTicks[len(c.XTicks)-1].Label == label {
			continue
		}
		tick := chartTick{Pos: round1(x(i)), Label: label, Anchor: "middle"}
		switch j {
		case 0:
			tick.Pos, tick.Anchor = c.Left, "start"
		case 2:
			tick.Pos, tick.Anchor = c.Right, "end"
		}
		c.XTicks = append(c.XTicks, tick)
	}
	return c
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func fmtCoord(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Number formats for axes and hover texts.
func fmtPercent(v float64) string {
	switch {
	case v == 0:
		return "0 %"
	case v < 0.1:
		return strconv.FormatFloat(100*v, 'f', 1, 64) + " %"
	}
	return strconv.FormatFloat(100*v, 'f', 0, 64) + " %"
}

func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d.Microseconds()), 'f', 0, 64) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

func fmtMillis(v float64) string { return fmtDuration(time.Duration(v * float64(time.Millisecond))) }

func fmtCount(v float64) string {
	if v < 10 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
