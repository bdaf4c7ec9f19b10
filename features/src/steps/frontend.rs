//! The web frontends: the page loads (HTML whose JavaScript bundles and stylesheets are
//! served), and what its JavaScript weighs on the wire when fetched as a browser does
//! (`Accept-Encoding: gzip`).

use cucumber::{then, when};
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE};

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// The most bytes read of one asset (a runaway asset is reported, not buffered whole).
const MAX_ASSET: usize = 32 * 1024 * 1024;

/// `<script src>` and `<link rel="stylesheet" href>` of a page, resolved against its URL.
pub fn page_assets(page: &str, html: &str) -> (Vec<String>, Vec<String>) {
    let base = reqwest::Url::parse(page).ok();
    let resolve = |href: &str| match &base {
        Some(b) => b
            .join(href)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| href.to_owned()),
        None => href.to_owned(),
    };
    let tag = regex::Regex::new(r"(?is)<(script|link)\b([^>]*)>").expect("tag regex");
    let attr = |attrs: &str, name: &str| {
        regex::Regex::new(&format!(r#"(?i)\b{name}\s*=\s*["']([^"']+)["']"#))
            .ok()
            .and_then(|re| re.captures(attrs).map(|c| c[1].to_owned()))
    };
    let (mut scripts, mut styles) = (Vec::new(), Vec::new());
    for c in tag.captures_iter(html) {
        let attrs = &c[2];
        if c[1].eq_ignore_ascii_case("script") {
            if let Some(src) = attr(attrs, "src") {
                scripts.push(resolve(&src));
            }
        } else if attr(attrs, "rel").is_some_and(|r| r.eq_ignore_ascii_case("stylesheet"))
            && let Some(href) = attr(attrs, "href")
        {
            styles.push(resolve(&href));
        }
    }
    (scripts, styles)
}

/// What a browser-like fetch of an asset got: status, headers, bytes on the wire.
struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    size: usize,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// GET `url` as a browser fetches an asset (`Accept-Encoding: gzip`), reading the body
/// without decompressing it (bounded by [`MAX_ASSET`]).
async fn fetch_asset(world: &AcceptWorld, url: &str) -> Result<Fetched, StepError> {
    let target = world.target()?;
    let mut response = target
        .http()
        .get(url)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("GET {url}: {e}")))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut size = 0usize;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| StepError::Infra(format!("reading {url}: {e}")))?
    {
        size += chunk.len();
        if size > MAX_ASSET {
            break;
        }
    }
    Ok(Fetched {
        status,
        headers,
        size,
    })
}

/// `When I open the frontend at "{frontend-url}"`: the page answers 200 with HTML.
#[when(regex = r#"^I open the frontend at "([^"]+)"$"#)]
async fn open_frontend(world: &mut AcceptWorld, url: String) -> StepResult {
    let url = world.render(&url)?;
    let target = world.target()?;
    let ex = target
        .send(target.http().get(&url).header(ACCEPT, "text/html"))
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    let html = ex
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html"));
    ensure(
        ex.status.as_u16() == 200 && html,
        format!("GET {url} → 200 text/html"),
        format!(
            "{} {}",
            ex.status.as_u16(),
            ex.header("content-type").unwrap_or("(no content type)")
        ),
    )?;
    world.saved.insert("frontend-url".into(), url);
    world.saved.insert("frontend-html".into(), ex.body);
    Ok(())
}

fn opened(world: &AcceptWorld) -> Result<(Vec<String>, Vec<String>), StepError> {
    let url = world.saved("frontend-url")?;
    let html = world.saved("frontend-html")?;
    Ok(page_assets(url, html))
}

/// `Then the page's JavaScript bundles and stylesheets load`
#[then(regex = r"^the page's JavaScript bundles and stylesheets load$")]
async fn assets_load(world: &mut AcceptWorld) -> StepResult {
    let (scripts, styles) = opened(world)?;
    ensure(
        !scripts.is_empty(),
        "the page loads at least one JavaScript bundle",
        "no <script src> on the page",
    )?;
    let mut problems = Vec::new();
    for (url, kind) in scripts
        .iter()
        .map(|u| (u, "javascript"))
        .chain(styles.iter().map(|u| (u, "css")))
    {
        let got = fetch_asset(world, url).await?;
        let content_type = got.header(CONTENT_TYPE.as_str()).unwrap_or_default();
        if got.status != 200 || !content_type.contains(kind) {
            problems.push(format!("{url}: {} {content_type}", got.status));
        }
    }
    ensure(
        problems.is_empty(),
        format!(
            "{} bundles and {} stylesheets answer 200 with their type",
            scripts.len(),
            styles.len()
        ),
        problems.join("; "),
    )
}

/// `Then the JavaScript the page loads weighs less than 500 KB gzipped on the wire`
#[then(regex = r"^the JavaScript the page loads weighs less than (\d+) KB gzipped on the wire$")]
async fn bundle_weight(world: &mut AcceptWorld, kb: usize) -> StepResult {
    let (scripts, _) = opened(world)?;
    let mut total = 0usize;
    let mut parts = Vec::new();
    for url in &scripts {
        let got = fetch_asset(world, url).await?;
        if got.status != 200 {
            return Err(StepError::mismatch(
                format!("{url} answers 200"),
                got.status.to_string(),
            ));
        }
        total += got.size;
        parts.push(format!("{url}: {:.1} KB", got.size as f64 / 1024.0));
    }
    ensure(
        !scripts.is_empty() && total < kb * 1024,
        format!("the page's JavaScript under {kb} KB gzipped"),
        format!(
            "{:.1} KB in {} bundles ({})",
            total as f64 / 1024.0,
            scripts.len(),
            parts.join(", ")
        ),
    )
}

/// `Then the page's stylesheets come back compressed and no older than 86400 s`: a text
/// asset fetched with `Accept-Encoding: gzip` is answered `Content-Encoding: gzip` (or `br`),
/// and a cached copy's `Age` never exceeds the documented max TTL.
#[then(regex = r"^the page's stylesheets come back compressed and no older than (\d+) s$")]
async fn text_assets_compressed(world: &mut AcceptWorld, max_age: u64) -> StepResult {
    let (_, styles) = opened(world)?;
    ensure(
        !styles.is_empty(),
        "the page loads at least one stylesheet",
        "no <link rel=stylesheet> on the page",
    )?;
    let mut problems = Vec::new();
    for url in &styles {
        let got = fetch_asset(world, url).await?;
        let encoding = got.header("content-encoding").unwrap_or_default();
        if !(encoding.contains("gzip") || encoding.contains("br")) {
            problems.push(format!("{url}: Content-Encoding {encoding:?}"));
        }
        if let Some(age) = got.header("age") {
            match age.trim().parse::<u64>() {
                Ok(a) if a <= max_age => {}
                _ => problems.push(format!("{url}: Age {age}")),
            }
        }
    }
    ensure(
        problems.is_empty(),
        format!(
            "{} stylesheets compressed, Age at most {max_age} s",
            styles.len()
        ),
        problems.join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::page_assets;

    #[test]
    fn finds_scripts_and_stylesheets_resolved_against_the_page() {
        let html = r#"<html><head><link rel="icon" href="/f.ico"><link rel="stylesheet" href="/app/assets/a.css">
            <script>inline()</script></head><body><script type="module" src="assets/b.js"></script>
            <SCRIPT SRC='https://cdn.example/c.js'></SCRIPT></body></html>"#;
        let (scripts, styles) = page_assets("http://h:1/app/", html);
        assert_eq!(
            scripts,
            ["http://h:1/app/assets/b.js", "https://cdn.example/c.js"]
        );
        assert_eq!(styles, ["http://h:1/app/assets/a.css"]);
    }
}
