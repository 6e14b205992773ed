package sdkjs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkjs "github.com/journeys/journeys/sdk/js"
	"github.com/journeys/journeys/sdk/js/internal/minjs"
)

// maxGzipBytes is the browser SDK's size budget, gzipped.
const maxGzipBytes = 5 * 1024

func TestMinifiedBuildIsCurrent(t *testing.T) {
	want, err := minjs.Minify(sdkjs.Source)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sdkjs.Build, want) {
		t.Fatal("journeys.min.js is not the minified journeys.js: run `go generate ./sdk/js` and commit the result")
	}
}

func TestGzippedSizeWithinBudget(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(sdkjs.Build)
	zw.Close()
	t.Logf("journeys.min.js: %d bytes, %d bytes gzipped (budget %d)", len(sdkjs.Build), buf.Len(), maxGzipBytes)
	if buf.Len() > maxGzipBytes {
		t.Errorf("gzipped build is %d bytes, over the %d byte budget", buf.Len(), maxGzipBytes)
	}
	if sdkjs.GzipSize() != buf.Len() {
		t.Errorf("served gzip is %d bytes, want %d", sdkjs.GzipSize(), buf.Len())
	}
}

func TestHandlerServesBuildWithCaching(t *testing.T) {
	srv := httptest.NewServer(sdkjs.Handler())
	defer srv.Close()

	get := func(accept, etag string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sdk.js", nil)
		req.Header.Set("Accept-Encoding", accept)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := get("identity", "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, sdkjs.Build) {
		t.Fatalf("GET = %d, %d bytes; want 200 and the build", resp.StatusCode, len(body))
	}
	for k, want := range map[string]string{"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": sdkjs.CacheControl} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	etag := resp.Header.Get("ETag")
	if resp := get("identity", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the ETag = %d, want 304", resp.StatusCode)
	}

	resp = get("gzip, br", "")
	zr, err := gzip.NewReader(resp.Body)
	if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip answer: %v, Content-Encoding %q", err, resp.Header.Get("Content-Encoding"))
	}
	unzipped, _ := io.ReadAll(zr)
	resp.Body.Close()
	if !bytes.Equal(unzipped, sdkjs.Build) {
		t.Error("gzip body is not the build")
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sdk.js", nil)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", resp.StatusCode)
	}
}
