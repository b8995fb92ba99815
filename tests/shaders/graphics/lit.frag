#version 450
// One directional light plus ambient (Lambert).
layout(location = 0) in vec3 v_normal;
layout(location = 1) in vec3 v_color;
layout(location = 0) out vec4 out_color;
void main() {
    vec3 light = normalize(vec3(0.5, 0.8, 0.6));
    float diffuse = max(dot(normalize(v_normal), light), 0.0);
    out_color = vec4(v_color * (0.25 + 0.75 * diffuse), 1.0);
}
