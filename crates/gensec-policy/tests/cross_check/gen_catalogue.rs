//! Every SCP statement the control catalogue can produce, with the cases
//! the controls stage executes it against (insecure, omitted and compliant
//! requests, exempt principals), with and without exempt principals in the
//! profile. gensec decides these before writing a statement; the simulator
//! must decide them the same way.

use gensec_core::input::ScpExemptions;
use gensec_kb::Kb;
use gensec_policy::corpus::Case;

pub fn cases(kb: &Kb) -> Vec<Case> {
    let exempt = ScpExemptions {
        break_glass_principal_arns: vec!["arn:aws:iam::*:role/SecurityBreakGlass".into()],
        deployer_principal_arns: vec!["arn:aws:iam::*:role/cicd-deployer".into()],
    };
    let mut cases = Vec::new();
    for (label, exemptions) in [
        ("no-exemptions", ScpExemptions::default()),
        ("exemptions", exempt),
    ] {
        let generated = gensec_controls::preventive::catalogue_corpus(kb, &exemptions)
            .unwrap_or_else(|err| panic!("the catalogue's SCPs: {err}"));
        for mut case in generated {
            case.id = format!("{label}/{}", case.id);
            cases.push(case);
        }
    }
    cases
}
