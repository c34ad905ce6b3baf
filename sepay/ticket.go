package sepay

import (
	"strings"
	"unicode/utf8"
)

// RenderTicket turns a Sepay receipt (the <ticket> markup of notes §7) into
// plain lines: @LF ends a line, @AM centres and @AR right-aligns what
// follows on the line (to TicketWidth), @HT is a tab, @@ a literal @, and
// the font tokens @RS @SS @SM @SL are dropped. Unknown tokens are kept as
// text. Real newlines also end a line.
func RenderTicket(ticket string) []string {
	if ticket == "" {
		return nil
	}
	var lines []string
	var left, right strings.Builder
	align := byte('L')
	cur := &left
	flush := func() {
		l, r := strings.TrimRight(left.String(), " "), strings.TrimRight(right.String(), " ")
		var line string
		switch {
		case align == 'M' && l == "":
			line = center(r)
		case align == 'R':
			line = padBetween(l, r)
		case align == 'M':
			line = padBetween(l, center(r)) // text before @AM stays left
		default:
			line = l + r
		}
		lines = append(lines, strings.TrimRight(line, " "))
		left.Reset()
		right.Reset()
		align, cur = 'L', &left
	}
	s := strings.ReplaceAll(ticket, "\r\n", "\n")
	if TicketSevenSpacesBreak {
		s = strings.ReplaceAll(s, "       ", "@LF")
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\n' {
			flush()
			i++
			continue
		}
		if c != '@' || i+1 >= len(s) {
			cur.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == '@' {
			cur.WriteByte('@')
			i += 2
			continue
		}
		if i+2 >= len(s) {
			cur.WriteString(s[i:])
			break
		}
		switch s[i+1 : i+3] {
		case "LF":
			flush()
		case "RS":
			if left.Len() == 0 && right.Len() == 0 {
				align, cur = 'L', &left
			}
		case "SS", "SM", "SL":
		case "HT":
			cur.WriteString("    ")
		case "AM":
			align, cur = 'M', &right
		case "AR":
			align, cur = 'R', &right
		default:
			cur.WriteString(s[i : i+3])
		}
		i += 3
	}
	if left.Len() > 0 || right.Len() > 0 {
		flush()
	}
	return lines
}

func center(s string) string {
	n := utf8.RuneCountInString(s)
	if n >= TicketWidth {
		return s
	}
	return strings.Repeat(" ", (TicketWidth-n)/2) + s
}

func padBetween(l, r string) string {
	gap := TicketWidth - utf8.RuneCountInString(l) - utf8.RuneCountInString(r)
	if gap < 1 {
		gap = 1
		if l == "" {
			gap = 0
		}
	}
	return l + strings.Repeat(" ", gap) + r
}
