const W=481,U=[481],F={8791:((L,b,h)=>{h.d(b,{t:()=>k});var g=h(7197),m=h(428),u=h(3042);function $(w){return u.xf.find(x=>x.name===w)?.default??""}function k(w,x={}){return{privateKey:w("ssh-private-key"),knownHosts:w("ssh-known-hosts"),acceptNewHostKeys:(0,g.q6)("ssh-accept-new-host-keys",w("ssh-accept-new-host-keys"),$("ssh-accept-new-host-keys")==="true"),extraOptions:(0,m.K_)(w("ssh-options")),sudo:(0,g.nL)("sudo",w("sudo"),["auto","true","false"],$("sudo")),connectTimeout:(0,g.EJ)("ssh-connect-timeout",w("ssh-connect-timeout"),Number($("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:x.terminal===!0}}}),5632:((L,b,h)=>{h.d(b,{j:()=>M,o:()=>x});var g=h(7197);const m=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"]],u=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],$=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],k="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",w=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${k})$`);function x(A){return A.length<=256&&w.test(A)}function M(A){const y={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set};let T=!1;const P=[],O=(0,g.aJ)(String(A??"")).split(/\r?\n|\r/);for(let _=0;_<O.length;_++){const e=O[_].trim();if(e===""||u.some(s=>s.test(e)))continue;if($.some(s=>s.test(e))){T=!0;continue}const r=m.find(([s])=>s.test(e));if(!r){P.push(e);continue}const[a,t]=r;let n=e.replace(a,"");for(;n.trim().endsWith(",")&&_+1<O.length&&O[_+1].trim()!=="";)_++,n+=" "+O[_].trim();let o=!1;for(const s of n.split(",")){const d=s.trim();d!==""&&(x(d)?y[t].add(d):o=!0)}o&&P.push(e)}const E=_=>[..._].sort();return{stop:E(y.stop),restart:E(y.restart),reload:E(y.reload),start:E(y.start),notStopped:E(y.notStopped),skipped:E(y.skipped),newlyStarted:E(y.newlyStarted),failed:E(y.failed),restartSystemd:T,lines:P}}}),526:((L,b,h)=>{h.d(b,{G:()=>d});var g=h(2091),m=h(23),u=h(428);const $="/run/nix-deploy",k="/nix/var/nix/profiles/system",w=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,x=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${k} 2>/dev/null || true)
  prof=$(readlink -f ${k} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want"
}
`,M=x+`
probe_state "$1"
`,A=x+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,y=w+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,T=`
d=$1; id=$2; wd=$7
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh -c "$wd" nix-deploy-watchdog "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh -c "$wd" nix-deploy-watchdog "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,P=w+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${k} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${k} 2>/dev/null)"
job='"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"'
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" -- /bin/sh -c "$job" nix-deploy-switch "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  setsid /bin/sh -c "$job" nix-deploy-switch "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+O();function O(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const E=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+O(),_=`
d=$1; id=$2
[ -e "$d/rollback-$id.log" ] && { echo fired; exit 92; }
echo $(( $(date +%s) + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
echo extended
`,e=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,r=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,a=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,t=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,n=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,o=6e4;function s(p){const l=/system-(\d+)-link$/.exec(p.trim());return l?Number(l[1]):null}class d{session;remote;logger;constructor(l,c,i){this.session=l,this.remote=c,this.logger=i}get host(){return this.remote.host}script(l,c,i,f,v=o,S=!0){return(0,u.mW)(this.session,this.remote,l,c,{timeoutMs:v,phase:i,what:f,logger:this.logger,check:S})}async probe(l,c="probe"){const i=await this.script(M,[l],c,"reading the current system");return this.parseProbe(i.stdout.split(`
`),c)}parseProbe(l,c){const i=new Map;for(const f of l){const v=f.indexOf("=");v>0&&i.set(f.slice(0,v),f.slice(v+1).trim())}if(!i.has("current"))throw new g.lZ(`Host ${this.host}, phase ${c}: the host's answer could not be read (is its login shell POSIX?).`,{host:this.host,phase:c});return{current:i.get("current")||null,generation:s(i.get("generation")??""),generationLink:/^system-\d+-link$/.test(i.get("generation")??"")?i.get("generation"):null,profile:i.get("profile")||null,bootId:i.get("boot")??"",systemd:i.get("systemd")==="yes",flock:i.get("flock")==="yes",hasWanted:i.get("has-wanted")==="yes"}}async lock(l,c,i=""){const v=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",A,"nix-deploy",$,l,String(c),i],S=(0,m.kp)(this.session.sshArgv(this.remote,v.map(m.ZL).join(" ")),{timeoutMs:(c+60)*1e3,logger:this.logger}),H=await S.waitForLine(I=>I.startsWith("nix-deploy-lock-"),6e4);if(H==="nix-deploy-lock-acquired")return{state:this.parseProbe(S.lines,"lock"),release:async()=>{S.closeInput(),await Promise.race([S.done,new Promise(N=>setTimeout(N,5e3,null))])===null&&S.kill()}};S.kill();const D=await S.done;if(H?.startsWith("nix-deploy-lock-busy")){const I=H.slice(20).trim();throw new g.lZ(`Host ${this.host}, phase lock: another deploy is running on this host${I?` (${I})`:""}; try again when it has finished.`,{host:this.host,phase:"lock"})}if(D.exitCode===u.M2)throw new g.lZ(`Host ${this.host}, phase lock: could not connect: ${(0,u.eG)(D.stderr)}.`,{host:this.host,phase:"lock"});const C=D.stderr.trim().split(`
`).pop()??"";throw new g.lZ(`Host ${this.host}, phase lock: could not take the deploy lock${/flock.*not found/.test(D.stderr)?" (flock is missing on the host)":C?`: ${C}`:""}.`,{host:this.host,phase:"lock"})}async armWatchdog(l,c,i,f,v,S){const H=[$,l,String(c),i??"",v,String(S),y,f??""];await this.script(T,H,"arm","arming the rollback watchdog")}async activate(l,c,i,f,v,S,H=""){const D=[$,l,c,i,f,String(v),H],C=await(0,u.mW)(this.session,this.remote,P,D,{timeoutMs:(v+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:S}),I=C.stdout.split(`
`).find(K=>K.startsWith("nix-deploy-profile ")),N=C.stdout.includes("nix-deploy-activation-started"),R=C.exitCode===u.M2||C.timedOut||N&&C.exitCode===null;return{exitCode:R?null:C.exitCode,output:C.stderr,connectionLost:R,profileLink:I?I.slice(19).trim():null}}async waitActivation(l,c){const i=await(0,u.mW)(this.session,this.remote,E,[$,l,"","","",String(c)],{timeoutMs:(c+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),f=i.exitCode===u.M2||i.timedOut;return{exitCode:f?null:i.exitCode,output:i.stderr,connectionLost:f}}async extend(l,c){const i=await this.script(_,[$,l,String(c)],"verify","opening a new SSH connection",o,!1);if(i.exitCode===0)return!0;if(i.exitCode===92)return!1;throw new g.lZ(`Host ${this.host}, phase verify: a new SSH connection to the new generation failed: ${i.exitCode===u.M2?(0,u.eG)(i.stderr):`exit code ${i.exitCode}`}.`,{host:this.host,phase:"verify"})}async confirm(l){const c=await this.script(e,[$,l],"confirm","confirming the deployment",o,!1);if(c.exitCode===0)return"confirmed";if(c.exitCode===92)return"fired";throw new g.lZ(`Host ${this.host}, phase confirm: confirming failed with exit code ${c.exitCode}.`,{host:this.host,phase:"confirm"})}async disarm(l){const i=(await this.script(r,[$,l],"rollback","disarming the watchdog",10*o)).stdout.trim().split(`
`).pop()??"";return i.startsWith("fired")?{fired:!0,exit:i.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(l){const i=(await this.script(a,[$,l],"rollback","reading the watchdog",o)).stdout.split(`
`),f=(i.find(v=>v.startsWith("fired="))??"fired=no").slice(6);return{fired:f!=="no",exit:f==="no"?"":f,log:i.filter(v=>v.startsWith("log=")).map(v=>v.slice(4))}}async generations(l="resolve"){return(await this.script(t,[],l,"listing the system generations")).stdout.split(`
`).map(i=>/^(\d+) (\/\S+)$/.exec(i.trim())).filter(i=>i!==null).map(i=>({generation:Number(i[1]),storePath:i[2]})).sort((i,f)=>i.generation-f.generation)}async reboot(){await this.script(n,[],"reboot","rebooting the host")}async waitForBoot(l,c){const i=Date.now()+c*1e3;for(;Date.now()<i;){await new Promise(f=>setTimeout(f,1e3));try{const f=await this.probe("","reboot");if(f.bootId&&f.bootId!==l)return f}catch{}}return null}}}),3143:((L,b,h)=>{h.d(b,{Fm:()=>M,UD:()=>_,zw:()=>w});var g=h(2091),m=h(3709),u=h(5237);const $=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,k=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function w(e,r={}){const a=await(0,m.g1)(`${e}#nixosConfigurations`,{apply:$,logger:r.logger,cwd:r.cwd,phase:"evaluate",what:`evaluating the hosts of '${e}'`});if(a===void 0)throw new g.lZ(`The flake '${e}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const t=await(0,m.g1)(`${e}#deploy`,{apply:k,logger:r.logger,cwd:r.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${e}'`});return Object.keys(a).sort().map(n=>x(n,a[n],t))}function x(e,r,a){(0,u.Eo)(e,"A nixosConfigurations attribute name");const t=Array.isArray(r.tags)?r.tags:[];for(const n of t)if(!/^[A-Za-z0-9._-]{1,64}$/.test(n))throw new g.lZ(`Host ${e} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:e,phase:"evaluate"});try{return{name:e,system:r.system,hostName:r.hostName,fqdn:r.fqdn,tags:t,...A(e,r,a)}}catch(n){if(!(n instanceof g.lZ))throw n;return{name:e,system:r.system,hostName:r.hostName,fqdn:r.fqdn,tags:t,target:null,targetError:n,targetSource:"",sshOptions:[]}}}function M(e){if(e.target)return e.target;throw e.targetError??new g.lZ(`Host ${e.name} has no SSH target.`,{host:e.name})}function A(e,r,a){const t=a?.nodes?.[e];let n,o,s=[];if(t?.hostname){o=`Host ${e}'s deploy.nodes.${e}.hostname`;const d=t.sshUser??a?.sshUser??null;n=(0,u.hu)(d?`${d}@${y(t.hostname)}`:y(t.hostname),o);const p=[...T(a?.sshOpts),...T(t.sshOpts)];s=O(p,`deploy.nodes.${e}.sshOpts`,e);const l=s.indexOf("-p");l>=0&&(n={...n,port:Number(s[l+1])},s=[...s.slice(0,l),...s.slice(l+2)])}else if(r.targetHost){o=`Host ${e}'s config.deployment.targetHost`;let d=y(r.targetHost);r.targetUser&&(d=`${r.targetUser}@${d}`),r.targetPort&&(d=`${d}:${r.targetPort}`),n=(0,u.hu)(d,o)}else r.fqdn?(o=`Host ${e}'s config.networking.fqdn`,n=(0,u.hu)(r.fqdn,o)):r.hostName?(o=`Host ${e}'s config.networking.hostName`,n=(0,u.hu)(r.hostName,o)):(o=`Host ${e}'s attribute name`,n=(0,u.hu)(e,o));return{target:n,targetSource:o,sshOptions:s}}function y(e){return e.includes(":")&&!e.startsWith("[")?`[${e}]`:e}function T(e){return Array.isArray(e)?e.filter(r=>typeof r=="string"):[]}const P=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive","proxyjump"]);function O(e,r,a){const t=[],n=(o,s)=>{throw new g.lZ(`Host ${a}: ${r} contains the ssh option '${E(o)}', which is not allowed from flake data (${s}); pass it through the workflow's 'ssh-options' input instead.`,{host:a,phase:"evaluate"})};for(let o=0;o<e.length;o++){const s=e[o];if(s==="-4"||s==="-6"||s==="-C")t.push(s);else if(s==="-p"||s.startsWith("-p")){const d=s==="-p"?e[++o]:s.slice(2);(!d||!/^\d{1,5}$/.test(d))&&n(s,"the port must be a number"),t.push("-p",d)}else if(s==="-J"||s.startsWith("-J")){const d=s==="-J"?e[++o]:s.slice(2);d||n(s,"a jump host is missing"),(0,u.hu)(d,`${r} (-J)`),t.push("-J",d)}else if(s==="-o"||s.startsWith("-o")){const d=s==="-o"?e[++o]:s.slice(2),p=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(d??"");p||n(d??s,"expected -o Key=Value"),P.has(p[1].toLowerCase())||n(`-o${d}`,`'${p[1]}' can run commands or weaken host key checking`),t.push("-o",`${p[1]}=${p[2]}`)}else n(s,"only -p, -J, -4, -6, -C and a few -o options are accepted")}return t}function E(e){const r=JSON.stringify(e).slice(1,-1);return r.length>60?`${r.slice(0,57)}...`:r}async function _(e,r,a={}){for(const s of r)(0,u.Eo)(s,`host '${s}'`);const n=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${r.map(m.z7).join(" ")} ]`}))`;return await(0,m.g1)(`${e}#nixosConfigurations`,{apply:n,logger:a.logger,cwd:a.cwd,phase:a.phase??"evaluate",what:`evaluating the toplevel derivations of ${r.length} host(s) in '${e}'`})??{}}}),1031:((L,b,h)=>{h.d(b,{L:()=>m,a:()=>g});function g(u){if(u<1e3)return`${u} ms`;const $=u/1e3;if($<60)return`${$.toFixed(1)} s`;const k=Math.floor($/60);return`${k} min ${Math.round($-k*60)} s`}function m(u,$,k=`${$}s`){return`${u} ${u===1?$:k}`}}),428:((L,b,h)=>{h.d(b,{K_:()=>r,M2:()=>P,eG:()=>e,mW:()=>E,vM:()=>T,yU:()=>O});var g=h(3024),m=h.n(g),u=h(8161),$=h.n(u),k=h(6760),w=h.n(k),x=h(2091),M=h(23),A=h(9147),y=h(5237);class T{settings;dir;keyFile;knownHostsFile;constructor(t,n,o,s){this.settings=t,this.dir=n,this.keyFile=o,this.knownHostsFile=s}static create(t,n=$().tmpdir()){t.privateKey&&A.O.add(t.privateKey);const o=t.knownHosts.trim();if(!o&&!t.acceptNewHostKeys&&!t.allowUserKnownHosts)throw new x.lZ("Input 'ssh-known-hosts' is required to connect to hosts: give the hosts' known_hosts lines (ssh-keyscan, checked), or set ssh-accept-new-host-keys: true to trust keys on first contact.",{input:"ssh-known-hosts",phase:"connect"});const s=/\s/.test(n)?$().tmpdir():n;m().mkdirSync(s,{recursive:!0});const d=m().mkdtempSync(w().join(s,"nix-deploy-ssh-"));m().chmodSync(d,448);let p=null;if(t.privateKey.trim()){p=w().join(d,"id");const c=t.privateKey.replace(/\r\n/g,`
`).trim()+`
`;if(!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(c))throw m().rmSync(d,{recursive:!0,force:!0}),new x.lZ("Input 'ssh-private-key' is not a private key (expected a '-----BEGIN \u2026 PRIVATE KEY-----' block).",{input:"ssh-private-key"});m().writeFileSync(p,c,{mode:384})}let l=null;return(o||t.acceptNewHostKeys)&&(l=w().join(d,"known_hosts"),m().writeFileSync(l,o?o.replace(/\r\n/g,`
`)+`
`:"",{mode:384})),new T(t,d,p,l)}commonOptions(){const t=[];return this.keyFile&&t.push("-i",this.keyFile,"-o","IdentitiesOnly=yes"),this.knownHostsFile&&t.push("-o",`UserKnownHostsFile=${this.knownHostsFile}`,"-o","GlobalKnownHostsFile=/dev/null"),t.push("-o",`StrictHostKeyChecking=${this.settings.acceptNewHostKeys?"accept-new":"yes"}`),t.push("-o","BatchMode=yes","-o",`ConnectTimeout=${this.settings.connectTimeout}`,"-o","ServerAliveInterval=5","-o","ServerAliveCountMax=3","-o","ControlMaster=no","-o","ControlPath=none","-o","LogLevel=ERROR"),t}sshArgv(t,n){return["ssh",...this.commonOptions(),...this.settings.extraOptions,...t.hostOptions,"-p",String(t.target.port),"--",(0,y.jK)(t.target),n]}nixStore(t){const n=(0,y.dK)(t.target),o=[...this.commonOptions(),...this.settings.extraOptions,...t.hostOptions,...n.sshOpts];for(const s of o)if(/\s/.test(s))throw new x.lZ(`The ssh option '${s}' contains whitespace, which nix cannot pass on (NIX_SSHOPTS is split on spaces).`,{host:t.host,input:"ssh-options"});return{uri:n.uri,env:{NIX_SSHOPTS:o.join(" ")}}}needsSudo(t){return this.settings.sudo==="true"?!0:this.settings.sudo==="false"?!1:t.target.user!=="root"}dispose(){m().rmSync(this.dir,{recursive:!0,force:!0})}}const P=255;async function O(a,t,n,o){const d=(o.privileged!==!1&&a.needsSudo(t)?["sudo","-n","--",...n]:n).map(M.ZL).join(" "),p=await(0,M.eF)(a.sshArgv(t,d),{timeoutMs:o.timeoutMs,check:!1,input:o.input,logger:o.logger,onStdoutLine:o.onStdoutLine,onStderrLine:o.onStderrLine});if(o.check===!1||p.exitCode===0&&!p.timedOut)return p;throw _(t,p,o)}async function E(a,t,n,o,s){return O(a,t,["sh","-c",n,"nix-deploy",...o],s)}function _(a,t,n){const o=`${a.host} (${a.target.user}@${a.target.host}:${a.target.port})`;let s;if(t.timedOut)s=`timed out after ${Math.round(n.timeoutMs/1e3)} s`;else if(t.exitCode===P)s=`could not connect: ${e(t.stderr)}`;else{const p=t.stderr.trim().split(`
`).filter(Boolean).pop()??"";s=`failed with exit code ${t.exitCode}${p?`: ${p.slice(0,300)}`:""}`}const d=new x.lZ(`Host ${o}, phase ${n.phase}: ${n.what} ${s}.`.replace(/\.\.$/,"."),{host:a.host,phase:n.phase});return d.result=t,d}function e(a){const t=a.trim();if(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(t))return/No .* host key is known|not in the list of known hosts/i.test(t)||!/CHANGED/.test(t)?"its host key is not in ssh-known-hosts (host key verification failed)":"its host key does not match the pinned key in ssh-known-hosts (host key verification failed)";if(/Permission denied/.test(t))return"permission denied (the key was not accepted)";if(/Connection refused/.test(t))return"connection refused";if(/timed out/i.test(t))return"connection timed out";if(/Could not resolve hostname/.test(t))return"the host name does not resolve";if(/No route to host/.test(t))return"no route to host";const n=t.split(`
`).filter(Boolean).pop();return n?n.slice(0,200):"ssh exited with code 255"}function r(a){return a.split(/\s+/).filter(Boolean)}})};export{W as id,U as ids,F as modules};
