//! A small EC2 Query API client: SigV4-signed form POSTs, XML answers read into a tree.
//!
//! shakedown makes a dozen EC2 calls (VPCs, subnets, security groups, flow logs, endpoints).
//! `aws-sdk-ec2` alone was the largest crate of the build — 241 s of the workspace's 1009 s
//! of compile CPU (`cargo build --timings`, 2 cores), compiled twice more by clippy — so
//! these calls are made here, on `aws-sigv4` (which the other SDK crates already build).
//! Same endpoint, region and credentials as the profile's `SdkConfig`; the same timeouts.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// The EC2 API version every call names.
const VERSION: &str = "2016-11-15";
/// One call's deadline (connect + answer), as the SDK clients' operation timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an EC2 call failed.
#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    /// EC2 answered with an error (`<Errors><Error><Code>`).
    #[error("ec2 {action}: {code}: {message} (HTTP {status})")]
    Service {
        action: String,
        status: u16,
        code: String,
        message: String,
    },
    /// No answer, or one that is not EC2's XML.
    #[error("ec2 {action}: {detail}")]
    Transport { action: String, detail: String },
}

/// An EC2 client for one region and endpoint.
#[derive(Debug, Clone)]
pub struct Ec2 {
    /// `None` when the HTTP client could not be built (reported by every call).
    http: Option<reqwest::Client>,
    endpoint: String,
    region: String,
    sdk: SdkConfig,
}

impl Ec2 {
    /// A client with the SDK configuration's endpoint (override or the regional one),
    /// region and credentials.
    pub fn new(sdk: &SdkConfig) -> Self {
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let endpoint = sdk
            .endpoint_url()
            .map(|e| e.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"));
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .ok();
        Self {
            http,
            endpoint,
            region,
            sdk: sdk.clone(),
        }
    }

    /// Call `action` with Query parameters (`Filter.1.Name`, ...); the answer's root element.
    pub async fn call(&self, action: &str, params: &[(String, String)]) -> Result<Xml, Ec2Error> {
        let transport = |detail: String| Ec2Error::Transport {
            action: action.to_owned(),
            detail,
        };
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", VERSION);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let body = form.finish();
        let url = format!("{}/", self.endpoint);
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let http = self
            .http
            .as_ref()
            .ok_or_else(|| transport("the HTTP client could not be built".to_owned()))?;
        let mut request = http
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(provider) = self.sdk.credentials_provider() {
            let credentials = provider
                .provide_credentials()
                .await
                .map_err(|e| transport(format!("credentials: {e}")))?;
            let identity: Identity = credentials.into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region(&self.region)
                .name("ec2")
                .time(SystemTime::now())
                .settings(SigningSettings::default())
                .build()
                .map_err(|e| transport(format!("signing: {e}")))?
                .into();
            let signable = SignableRequest::new(
                "POST",
                url.as_str(),
                [("content-type", content_type)].into_iter(),
                SignableBody::Bytes(body.as_bytes()),
            )
            .map_err(|e| transport(format!("signing: {e}")))?;
            let (instructions, _) = sign(signable, &params)
                .map_err(|e| transport(format!("signing: {e}")))?
                .into_parts();
            for (name, value) in instructions.headers() {
                request = request.header(name, value);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport(format!("POST {url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| transport(format!("reading the answer: {e}")))?;
        let root = Xml::parse(&text).map_err(|e| {
            transport(format!(
                "HTTP {status}, not XML ({e}): {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        if let Some(error) = root.find(&["Errors", "Error"]) {
            return Err(Ec2Error::Service {
                action: action.to_owned(),
                status,
                code: error.text_of("Code").unwrap_or("?").to_owned(),
                message: error.text_of("Message").unwrap_or_default().to_owned(),
            });
        }
        if !(200..300).contains(&status) {
            return Err(transport(format!("HTTP {status}")));
        }
        Ok(root)
    }
}

/// Query parameters for `Filter.1.Name=name&Filter.1.Value.1=value` (one filter, one value).
pub fn filter(name: &str, value: &str) -> Vec<(String, String)> {
    vec![
        ("Filter.1.Name".into(), name.into()),
        ("Filter.1.Value.1".into(), value.into()),
    ]
}

/// Query parameters tagging the created resource `Name = name`.
pub fn name_tag(resource_type: &str, name: &str) -> Vec<(String, String)> {
    vec![
        (
            "TagSpecification.1.ResourceType".into(),
            resource_type.into(),
        ),
        ("TagSpecification.1.Tag.1.Key".into(), "Name".into()),
        ("TagSpecification.1.Tag.1.Value".into(), name.into()),
    ]
}

/// One XML element: its name, its text and its child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xml {
    pub name: String,
    pub text: String,
    pub children: Vec<Xml>,
}

impl Xml {
    /// Parse a document into its root element.
    pub fn parse(text: &str) -> Result<Self, String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        let mut stack: Vec<Xml> = vec![Xml::default()];
        let name = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
        loop {
            let event = reader.read_event().map_err(|e| e.to_string())?;
            let top = stack.last_mut().ok_or("unbalanced document")?;
            match event {
                Event::Start(e) => stack.push(Xml {
                    name: name(e.local_name().as_ref()),
                    ..Xml::default()
                }),
                Event::Empty(e) => top.children.push(Xml {
                    name: name(e.local_name().as_ref()),
                    ..Xml::default()
                }),
                Event::Text(t) => top.text.push_str(&t.decode().map_err(|e| e.to_string())?),
                Event::CData(t) => top.text.push_str(&t.decode().map_err(|e| e.to_string())?),
                Event::GeneralRef(r) => {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        top.text.push(c);
                    } else {
                        let entity = r.decode().map_err(|e| e.to_string())?;
                        top.text.push_str(match entity.as_ref() {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "quot" => "\"",
                            "apos" => "'",
                            other => return Err(format!("unknown entity &{other};")),
                        });
                    }
                }
                Event::End(_) => {
                    let done = stack.pop().ok_or("unbalanced document")?;
                    stack
                        .last_mut()
                        .ok_or("unbalanced document")?
                        .children
                        .push(done);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let document = stack.pop().filter(|_| stack.is_empty());
        document
            .and_then(|mut d| (d.children.len() == 1).then(|| d.children.remove(0)))
            .ok_or_else(|| "not one root element".to_owned())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Xml> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element at `path` (child names) below this one.
    pub fn find(&self, path: &[&str]) -> Option<&Xml> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }

    /// The trimmed text of the child `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// The `<item>`s of the list element `set` (`vpcSet`, `subnetSet`, ...).
    pub fn items<'a>(&'a self, set: &str) -> impl Iterator<Item = &'a Xml> + 'a {
        self.child(set)
            .into_iter()
            .flat_map(|s| s.children.iter().filter(|c| c.name == "item"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_errors_parse() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <vpcSet>
    <item><vpcId>vpc-1</vpcId><tagSet><item><key>Name</key><value>a &amp; b</value></item></tagSet></item>
    <item><vpcId>vpc-2</vpcId><isDefault/></item>
  </vpcSet>
</DescribeVpcsResponse>"#;
        let root = Xml::parse(xml).unwrap();
        assert_eq!(root.name, "DescribeVpcsResponse");
        let ids: Vec<&str> = root
            .items("vpcSet")
            .filter_map(|v| v.text_of("vpcId"))
            .collect();
        assert_eq!(ids, ["vpc-1", "vpc-2"]);
        let tag = root
            .items("vpcSet")
            .next()
            .unwrap()
            .items("tagSet")
            .next()
            .unwrap();
        assert_eq!(tag.text_of("value"), Some("a & b"));
        let error = Xml::parse(
            "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>no</Message></Error></Errors></Response>",
        )
        .unwrap();
        assert_eq!(
            error
                .find(&["Errors", "Error"])
                .and_then(|e| e.text_of("Code")),
            Some("InvalidVpcID.NotFound")
        );
        assert!(Xml::parse("<a><b></a>").is_err());
        assert!(Xml::parse("not xml").is_err());
        assert!(Xml::parse("").is_err());
    }

    #[test]
    fn query_parameters() {
        assert_eq!(
            filter("vpc-id", "vpc-1"),
            [
                ("Filter.1.Name".to_owned(), "vpc-id".to_owned()),
                ("Filter.1.Value.1".to_owned(), "vpc-1".to_owned())
            ]
        );
        assert_eq!(name_tag("vpc", "x")[2].1, "x");
    }
}
