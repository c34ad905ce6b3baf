package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Shopper's buttons on the simulated Wero page.
const (
	ActionApprove = "approve"
	ActionDecline = "decline"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

var unescapeHTML = strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">")

// Shop plays the Wero shopper without a browser: it opens pageURL (a
// payment's next_action URL) as a browser does, reloading up to twice if
// the connection drops (sandbox rule 61), and presses action
// (ActionApprove or ActionDecline) on the simulated Wero page. Which
// redirects are followed (Paygate's back to Tender, not on to the shop) is
// up to browser's CheckRedirect. Tests and the fault harness share it.
func Shop(ctx context.Context, browser *http.Client, pageURL, action string) error {
	var res *http.Response
	var err error
	for range 3 {
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil); err != nil {
			return err
		}
		if res, err = browser.Do(req); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wero page: %w", err)
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("wero page: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("wero page: HTTP %d %.200s", res.StatusCode, page)
	}
	form := url.Values{"action": {action}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], unescapeHTML.Replace(m[2]))
	}
	target := res.Request.URL.ResolveReference(&url.URL{Path: "WERO.aspx"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, err = browser.Do(req); err != nil {
		return fmt.Errorf("press %s on the Wero page: %w", action, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return nil
}
