mod common;
#[test]
#[ignore]
fn dump() {
    let path = std::env::var("SPV").unwrap();
    let spv = std::fs::read(path).unwrap();
    let m = shader::lower_compute(&spv, "main", &Default::default()).unwrap();
    println!("{:#?}", m.body);
    println!("{:?}", shader::valid::validate(&m));
}
