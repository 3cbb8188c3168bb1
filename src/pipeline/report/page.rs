//! What the report pages share: the `<head>` of a self-contained page (no requests
//! leave it; its Content-Security-Policy says so) with its own inline style.

use maud::{Markup, PreEscaped, html};

/// The head: charset, the policy `csp`, the title and the page's inline `style`.
pub(super) fn head(title: &str, csp: &str, style: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta http-equiv="Content-Security-Policy" content=(csp);
            title { (title) }
            style { (PreEscaped(style)) }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn head_carries_the_policy_and_escapes_the_title() {
        let h = super::head("a <b>", "default-src 'none'", "p{color:red}").into_string();
        assert_eq!(
            h,
            "<head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
             <title>a &lt;b&gt;</title><style>p{color:red}</style></head>"
        );
    }
}
