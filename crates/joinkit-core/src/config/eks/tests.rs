//! The aws-auth and access-entry rules, each on a small file that breaks it (and the
//! authenticator's own fixture, which breaks none).

use super::*;

const NODE_ROLE: &str = "arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6";

/// kubernetes-sigs/aws-iam-authenticator pkg/mapper/configmap/yaml/aws-auth.yaml.
const GOOD: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6
      username: system:node:{{EC2PrivateDNSName}}
      groups:
        - system:bootstrappers
        - system:nodes
  mapUsers: |
    - userarn: arn:aws:iam::555555555555:user/admin
      username: admin
      groups:
        - system:masters
  mapAccounts: |
    - 555555555555
";

fn cm(map_roles: &str) -> String {
    let body: String = map_roles.lines().map(|l| format!("    {l}\n")).collect();
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{body}")
}

fn opts(role: Option<&str>) -> CheckOptions {
    CheckOptions { node_role_arn: role.map(|r| node_role(r).unwrap()), ..CheckOptions::default() }
}

fn run(text: &str, role: Option<&str>) -> FileResult {
    let kind = recognise(text).expect("an EKS file");
    check("f.yaml", text, kind, &opts(role))
}

fn errors(r: &FileResult) -> Vec<&Problem> {
    r.problems.iter().filter(|p| p.severity == Severity::Error).collect()
}

fn warnings(r: &FileResult) -> Vec<&Problem> {
    r.problems.iter().filter(|p| p.severity == Severity::Warning).collect()
}

#[test]
fn recognises_by_content_and_leaves_kubeadm_files_alone() {
    assert_eq!(recognise(GOOD), Some(EksFile::AwsAuth));
    let json = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"aws-auth","namespace":"kube-system"},"data":{"mapRoles":"- rolearn: x\n"}}"#;
    assert_eq!(recognise(json), Some(EksFile::AwsAuth));
    assert_eq!(
        recognise(r#"{"accessEntry": {"principalArn": "arn:aws:iam::1:role/r", "type": "EC2_LINUX"}}"#),
        Some(EksFile::AccessEntry)
    );
    assert_eq!(recognise(r#"{"accessEntries": ["arn:aws:iam::1:role/r"]}"#), Some(EksFile::AccessEntryList));
    // Another ConfigMap, and a kubeadm file that mentions aws-auth in a comment.
    assert_eq!(recognise("kind: ConfigMap\nmetadata:\n  name: cluster-info\ndata:\n  kubeconfig: x\n"), None);
    let join = "# see aws-auth\napiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n";
    assert_eq!(recognise(join), None);
    assert!(super::super::check_text("j.yaml", join).documents.iter().any(|d| d.kind == "JoinConfiguration"));
}

#[test]
fn the_authenticators_fixture_passes_and_maps_the_node() {
    let r = run(GOOD, Some(NODE_ROLE));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let m = r.node_mapping.unwrap();
    assert!(m.mapped);
    assert_eq!((m.by.as_str(), m.entry, m.line), ("aws-auth mapRoles", Some(0), Some(8)));
    assert_eq!(m.username.as_deref(), Some(EC2_NODE_USERNAME));
    assert_eq!(m.groups, ["system:bootstrappers", "system:nodes"]);
}

#[test]
fn arns_are_split_and_canonicalised_as_the_authenticator_does() {
    assert_eq!(Arn::parse("arn:aws:iam").unwrap_err(), "arn: not enough sections");
    assert_eq!(Arn::parse("aws:iam::1:role/x").unwrap_err(), "arn: invalid prefix");
    let a = Arn::parse("arn:aws:iam::111122223333:role/team/dev/node").unwrap();
    assert_eq!(a.role_without_path().unwrap(), "arn:aws:iam::111122223333:role/node");
    let s = Arn::parse("arn:aws:sts::111122223333:assumed-role/node/i-0123456789abcdef0").unwrap();
    assert_eq!(s.role_without_path().unwrap(), "arn:aws:iam::111122223333:role/node");
    assert_eq!(role_arn_issue("arn:aws:iam::1:role/a/b"), Err(RoleArnIssue::Path("arn:aws:iam::1:role/b".into())));
    assert_eq!(role_arn_issue("arn:aws:iam::1:instance-profile/a"), Err(RoleArnIssue::InstanceProfile));
    assert_eq!(role_arn_issue("arn:aws:iam::1:role/a"), Ok(()));
    assert!(
        matches!(role_arn_issue("arn:aws:sts::1:assumed-role/a/s"), Err(RoleArnIssue::AssumedRole(r)) if r == "arn:aws:iam::1:role/a")
    );
    assert!(matches!(role_arn_issue("arn:aws:eks:r:1:fargateprofile/c/p/x"), Err(RoleArnIssue::NotRole(_))));
    assert!(matches!(role_arn_issue("arn:awz:iam::1:role/a"), Err(RoleArnIssue::Partition(_))));
    assert!(matches!(role_arn_issue("<ARN of instance role>"), Err(RoleArnIssue::NotArn(_))));
    assert!(node_role("arn:aws:iam::1:instance-profile/p").unwrap_err().contains("instance profile"));
    assert!(node_role("arn:aws:iam::1:user/u").is_err());
    assert_eq!(node_role("arn:aws:iam::1:role/p/q").unwrap(), "arn:aws:iam::1:role/q");
}

#[test]
fn a_yaml_break_in_map_roles_is_placed_on_the_file_line() {
    // The second key of the entry is outdented to the `- ` column.
    let text = cm("- rolearn: arn:aws:iam::1:role/n\nusername: system:node:{{EC2PrivateDNSName}}\n");
    let r = run(&text, None);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{:?}", r.problems);
    assert_eq!(e[0].code, Code::ConfigYamlSyntax);
    assert_eq!((e[0].line, e[0].column), (9, 5), "{}", e[0].message);
    assert!(e[0].message.contains("every role mapping is lost"), "{}", e[0].message);
    assert_eq!(r.code, Some(Code::ConfigYamlSyntax));
    // In a quoted value (kubectl get -o json) the position inside the value is named.
    let json = r#"{"kind":"ConfigMap","metadata":{"name":"aws-auth","namespace":"kube-system"},"data":{"mapRoles":"- rolearn: a\nusername: b\n"}}"#;
    let r = run(json, None);
    assert!(errors(&r)[0].message.contains("(line 2, column 1 of the value's text)"), "{:?}", r.problems);
}

#[test]
fn node_role_arn_kind_and_path() {
    let entry = |arn: &str| {
        cm(&format!("- rolearn: {arn}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n"))
    };
    let r = run(&entry("arn:aws:iam::1:instance-profile/n"), None);
    assert!(errors(&r)[0].message.contains("instance profile ARN"), "{:?}", r.problems);
    assert_eq!((errors(&r)[0].line, errors(&r)[0].column), (8, 16));
    let r = run(&entry("arn:aws:iam::111122223333:role/team/node"), Some("arn:aws:iam::111122223333:role/team/node"));
    assert!(errors(&r)
        .iter()
        .any(|p| p.message.contains("has a path") && p.fix.ends_with("arn:aws:iam::111122223333:role/node")));
    let m = r.node_mapping.unwrap();
    assert!(!m.mapped && m.note.contains("with a path"), "{m:?}");
    // The same path on a person's role is a warning: no node depends on it.
    let admin = cm("- rolearn: arn:aws:iam::1:role/ci/runner\n  username: ci\n  groups:\n    - system:masters\n");
    let r = run(&admin, None);
    assert!(errors(&r).is_empty() && warnings(&r)[0].message.contains("has a path"), "{:?}", r.problems);
}

#[test]
fn node_username_and_groups() {
    let entry = |user: &str, groups: &str| {
        cm(&format!("- rolearn: arn:aws:iam::1:role/n\n  username: {user}\n  groups:\n{groups}"))
    };
    let both = "    - system:bootstrappers\n    - system:nodes\n";
    // The EC2 and the Fargate / hybrid forms pass.
    assert!(run(&entry("system:node:{{EC2PrivateDNSName}}", both), None).problems.is_empty());
    assert!(run(
        &entry(
            "system:node:{{SessionName}}",
            "    - system:bootstrappers\n    - system:nodes\n    - system:node-proxier\n"
        ),
        None
    )
    .problems
    .is_empty());
    for (user, says) in [
        ("system:node:ip-10-0-0-1.ec2.internal", "one fixed name"),
        ("'<system:node:{{EC2PrivateDNSName}}>'", "placeholder"),
        ("node:{{EC2PrivateDNSName}}", "does not start with system:node:"),
        ("system:node:{{SessionNameRaw}}", "not a node username template"),
    ] {
        let r = run(&entry(user, both), None);
        let e = errors(&r);
        assert!(
            e.len() == 1 && e[0].path.ends_with("username") && e[0].message.contains(says),
            "{user}: {:?}",
            r.problems
        );
    }
    let r = run(&entry("system:node:{{EC2PrivateDNSName}}", "    - system:nodes\n"), None);
    assert!(errors(&r)[0].message.contains("lacks the group(s) system:bootstrappers:"), "{:?}", r.problems);
    // The authenticator's aws-auth-space-out-of-place.yaml: two items folded into one.
    let r = run(&entry("system:node:{{EC2PrivateDNSName}}", "    - system:bootstrappers\n     - system:nodes\n"), None);
    let e = errors(&r);
    assert!(e[0].message.contains("\"system:bootstrappers - system:nodes\" is two list items"), "{:?}", r.problems);
    assert_eq!(e[0].line, 11);
    // groups written as one string: encoding/json cannot decode it.
    let r = run(
        &cm(
            "- rolearn: arn:aws:iam::1:role/n\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: system:nodes\n",
        ),
        None,
    );
    assert!(errors(&r).iter().any(|p| p.message.contains("groups is not a list")), "{:?}", r.problems);
}

#[test]
fn dropped_unknown_and_template_misuse() {
    let r = run(&cm("- username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:nodes\n"), None);
    assert!(errors(&r)[0].message.contains("one of rolearn or SSO must be supplied"), "{:?}", r.problems);
    let r = run(&cm("- rolearn: arn:aws:iam::1:role/a\n  username: a\n  group: system:masters\n"), None);
    assert!(warnings(&r)[0].message.contains("did you mean groups?"), "{:?}", r.problems);
    // Field names match case-insensitively, as encoding/json matches them.
    let r = run(&cm("- roleARN: arn:aws:iam::1:role/n\n  UserName: system:node:{{EC2PrivateDNSName}}\n  Groups:\n    - system:bootstrappers\n    - system:nodes\n"), None);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let r = run(&cm("- rolearn: arn:aws:iam::1:role/sso\n  username: admin:{{EC2PrivateDNSName}}\n  groups:\n    - system:masters\n"), None);
    assert!(warnings(&r)[0].message.contains("SessionName did not contain an instance id"), "{:?}", r.problems);
}

#[test]
fn the_last_entry_for_an_arn_wins() {
    // A correct node entry, then the same role (other case) mapped to a person: the second wins.
    let text = cm("- rolearn: arn:aws:iam::1:role/Node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n- rolearn: arn:aws:iam::1:role/node\n  username: ops\n  groups:\n    - system:nodes\n");
    let r = run(&text, Some("arn:aws:iam::1:role/node"));
    let w = warnings(&r);
    assert!(w.iter().any(|p| p.line == 8 && p.message.contains("shadowed by entry 1 (line 13)")), "{:?}", r.problems);
    assert!(errors(&r).iter().any(|p| p.line == 14 && p.path.ends_with("[1].username")), "{:?}", r.problems);
    let m = r.node_mapping.unwrap();
    assert_eq!((m.entry, m.mapped), (Some(1), false));
    // Reversed, the correct entry wins and the shadowed one is not judged.
    let text = cm("- rolearn: arn:aws:iam::1:role/node\n  username: ops\n  groups:\n    - system:nodes\n- rolearn: arn:aws:iam::1:role/Node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n");
    let r = run(&text, Some("arn:aws:iam::1:role/node"));
    assert!(errors(&r).is_empty(), "{:?}", r.problems);
    assert!(r.node_mapping.unwrap().mapped);
}

#[test]
fn users_differing_in_case_are_both_kept() {
    let text = "kind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n    - userarn: arn:aws:iam::1:user/Bob\n      username: a\n    - userarn: arn:aws:iam::1:user/bob\n      username: b\n";
    let r = run(text, None);
    assert!(warnings(&r)[0].message.contains("different case"), "{:?}", r.problems);
}

#[test]
fn configmap_shape() {
    let r = run(&GOOD.replace("namespace: kube-system", "namespace: default"), None);
    assert!(errors(&r)[0].path == "metadata.namespace", "{:?}", r.problems);
    let r = run(&GOOD.replace("  namespace: kube-system\n", ""), None);
    assert!(warnings(&r)[0].path == "metadata.namespace" && errors(&r).is_empty(), "{:?}", r.problems);
    let r = run(&GOOD.replace("mapUsers", "mapusers"), None);
    assert!(errors(&r)[0].message.contains("case-sensitive"), "{:?}", r.problems);
    // isSkippable: an empty or quoted-empty value is not parsed.
    let r = run(&GOOD.replace("  mapAccounts: |\n    - 555555555555\n", "  mapAccounts: \"''\"\n"), None);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    // --strict makes warnings errors.
    let text = GOOD.replace("  namespace: kube-system\n", "");
    let r = check("f.yaml", &text, EksFile::AwsAuth, &CheckOptions { strict: true, ..CheckOptions::default() });
    assert_eq!(r.code, Some(Code::ConfigInvalid));
}

#[test]
fn map_accounts_alone_gives_no_node_identity() {
    let text = GOOD.replace("role/devel-worker-nodes", "role/other-nodes");
    let r = run(&text, Some(NODE_ROLE));
    let m = r.node_mapping.unwrap();
    assert!(!m.mapped && m.by == "aws-auth mapAccounts" && m.note.contains("no groups"), "{m:?}");
}

fn entry_json(principal: &str, ty: &str, user: &str, groups: &str) -> String {
    format!(
        r#"{{"accessEntry": {{"clusterName": "c", "principalArn": "{principal}", "kubernetesGroups": [{groups}], "username": "{user}", "type": "{ty}"}}}}"#
    )
}

#[test]
fn access_entries() {
    let role = "arn:aws:iam::1:role/team/node";
    // EC2_LINUX for the role (its path kept: access entries match the principal ID).
    let r = run(&entry_json(role, "EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", "\"system:nodes\""), Some(role));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.node_mapping.unwrap().mapped);
    // STANDARD for the node role: no node identity, and the type cannot be changed.
    let r = run(&entry_json(role, "STANDARD", "arn:aws:sts::1:assumed-role/node/{{SessionName}}", ""), Some(role));
    let e = errors(&r);
    assert!(e[0].path == "accessEntry.type" && e[0].fix.contains("delete-access-entry"), "{:?}", r.problems);
    assert!(!r.node_mapping.unwrap().mapped);
    // STANDARD dressed as a node, without --node-role-arn.
    let r = run(&entry_json(role, "STANDARD", "system:node:{{EC2PrivateDNSName}}", "\"system:nodes\""), None);
    assert_eq!(errors(&r).len(), 1, "{:?}", r.problems);
    // A node type needs a role.
    let r = run(&entry_json("arn:aws:iam::1:user/u", "EC2_WINDOWS", "", ""), None);
    assert!(errors(&r)[0].message.contains("must be an IAM role"), "{:?}", r.problems);
    let r = run(&entry_json("arn:aws:iam::1:instance-profile/p", "EC2_LINUX", "", ""), None);
    assert!(errors(&r)[0].message.contains("instance profile"), "{:?}", r.problems);
    // A list: the role matches without its path.
    let r = run(r#"{"accessEntries": ["arn:aws:iam::1:role/other", "arn:aws:iam::1:role/node"]}"#, Some(role));
    let m = r.node_mapping.unwrap();
    assert!(m.mapped && m.entry == Some(1), "{m:?}");
    let r = run(r#"{"accessEntries": ["arn:aws:iam::1:role/other"]}"#, Some(role));
    assert!(!r.node_mapping.unwrap().mapped);
}

#[test]
fn the_verdict_spans_files() {
    let role = "arn:aws:iam::555555555555:role/elsewhere";
    let aws_auth = run(GOOD, Some(role));
    let entry = run(&entry_json(role, "EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", ""), Some(role));
    let list = run(r#"{"accessEntries": []}"#, Some(role));
    // Mapped by the access entry: nothing added to the others.
    let mut all = vec![("a".to_string(), aws_auth.clone()), ("e".to_string(), entry), ("l".to_string(), list.clone())];
    node_verdict(&mut all);
    assert!(all.iter().all(|(_, r)| errors(r).is_empty()));
    // Mapped nowhere: each file asked says why.
    let mut all = vec![("a".to_string(), aws_auth), ("l".to_string(), list)];
    node_verdict(&mut all);
    for (_, r) in &all {
        let e = errors(r);
        assert!(e.len() == 1 && e[0].message.contains("is not mapped to a node identity"), "{:?}", r.problems);
        assert_eq!(r.code, Some(Code::ConfigInvalid));
    }
}

#[test]
fn a_field_given_twice_is_read_as_the_json_conversion_reads_it() {
    let role = "arn:aws:iam::1:role/node";
    let body = |a: &str, b: &str| {
        cm(&format!("- {a}\n  {b}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n"))
    };
    // Keys differing in case: the greatest in byte order ("rolearn" > "roleARN"), in either order.
    for text in [
        body("roleARN: arn:aws:iam::1:role/other", "rolearn: arn:aws:iam::1:role/node"),
        body("rolearn: arn:aws:iam::1:role/node", "roleARN: arn:aws:iam::1:role/other"),
    ] {
        let r = run(&text, Some(role));
        assert!(r.node_mapping.as_ref().unwrap().mapped, "{:?}", r.node_mapping);
        assert!(warnings(&r)[0].message.contains("reads \"rolearn\""), "{:?}", r.problems);
    }
    // The same key twice: the later one.
    let r = run(&body("rolearn: arn:aws:iam::1:role/other", "rolearn: arn:aws:iam::1:role/node"), Some(role));
    assert!(r.node_mapping.as_ref().unwrap().mapped);
    assert!(warnings(&r)[0].message.contains("(the later one)"), "{:?}", r.problems);
}

#[test]
fn an_access_entry_takes_precedence_over_aws_auth() {
    // aws-auth maps the node role well, but its access entry is STANDARD: the entry decides.
    let aws_auth = run(GOOD, Some(NODE_ROLE));
    assert!(aws_auth.node_mapping.as_ref().unwrap().mapped);
    let standard = run(
        &entry_json(NODE_ROLE, "STANDARD", "arn:aws:sts::555555555555:assumed-role/x/{{SessionName}}", ""),
        Some(NODE_ROLE),
    );
    let mut all = vec![("a".to_string(), aws_auth.clone()), ("e".to_string(), standard)];
    node_verdict(&mut all);
    assert!(errors(&all[0].1).is_empty());
    assert!(all[0].1.node_mapping.as_ref().unwrap().note.contains("takes precedence"), "{:?}", all[0].1.node_mapping);
    assert!(
        errors(&all[1].1).iter().any(|p| p.message.contains("is not mapped to a node identity")
            && p.message.contains("takes precedence over any aws-auth entry")),
        "{:?}",
        all[1].1.problems
    );
    // A list naming the role: aws-auth still maps it, with a note to check the entry's type.
    let list = run(
        r#"{"accessEntries": ["arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6"]}"#,
        Some(NODE_ROLE),
    );
    let mut all = vec![("a".to_string(), aws_auth), ("l".to_string(), list)];
    node_verdict(&mut all);
    assert!(all.iter().all(|(_, r)| errors(r).is_empty()));
    assert!(all[0].1.node_mapping.as_ref().unwrap().note.contains("must be EC2_LINUX or EC2_WINDOWS"));
}
