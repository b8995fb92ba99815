#version 450
// GLSL.std.450 float functions (and division), selected by a push-constant opcode, applied to
// vec4 operands x, y, z; one vec4 result per invocation. Opcodes are listed in
// tests/glsl_std450.rs.
layout(local_size_x = 64) in;
layout(push_constant) uniform Params { uint op; uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer X { vec4 xs[]; };
layout(std430, set = 0, binding = 1) readonly buffer Y { vec4 ys[]; };
layout(std430, set = 0, binding = 2) readonly buffer Z { vec4 zs[]; };
layout(std430, set = 0, binding = 3) writeonly buffer R { vec4 rs[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) {
        return;
    }
    vec4 x = xs[i];
    vec4 y = ys[i];
    vec4 z = zs[i];
    vec4 r = vec4(0.0);
    switch (pc.op) {
    case 0: r = abs(x); break;
    case 1: r = sign(x); break;
    case 2: r = floor(x); break;
    case 3: r = ceil(x); break;
    case 4: r = round(x); break;
    case 5: r = trunc(x); break;
    case 6: r = fract(x); break;
    case 7: r = sqrt(x); break;
    case 8: r = inversesqrt(x); break;
    case 9: r = exp(x); break;
    case 10: r = exp2(x); break;
    case 11: r = log(x); break;
    case 12: r = log2(x); break;
    case 13: r = sin(x); break;
    case 14: r = cos(x); break;
    case 15: r = tan(x); break;
    case 16: r = asin(x); break;
    case 17: r = acos(x); break;
    case 18: r = atan(x); break;
    case 19: r = roundEven(x); break;
    case 20: r = min(x, y); break;
    case 21: r = max(x, y); break;
    case 22: r = clamp(x, y, z); break;
    case 23: r = mix(x, y, z); break;
    case 24: r = step(x, y); break;
    case 25: r = smoothstep(x, y, z); break;
    case 26: r = fma(x, y, z); break;
    case 27: r = pow(x, y); break;
    case 28: r = atan(x, y); break;
    case 29: r = x / y; break;
    case 30: r = vec4(length(x), distance(x.xyz, y.xyz), dot(x, y), length(x.xy)); break;
    case 31: r = vec4(cross(x.xyz, y.xyz), 0.0); break;
    case 32: r = vec4(normalize(x.xyz), 0.0); break;
    case 33: r = vec4(reflect(x.xyz, y.xyz), 0.0); break;
    default: r = vec4(-1.0); break;
    }
    rs[i] = r;
}
